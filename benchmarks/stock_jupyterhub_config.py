"""A stock JupyterHub + DockerSpawner + NativeAuthenticator configuration, as their docs describe it: the
baseline of benchmarks/spawn.py and benchmarks/burst.py. Same image and workspace limits as ours, and a real
bcrypt password check at the same cost (NativeAuthenticator's default, 12); nothing of Trường Số. Settings
come from the environment the benchmark sets (BENCH_*, see benchmarks/hubs.py)."""

import os

c = get_config()  # noqa: F821
prefix = os.environ["BENCH_PREFIX"]
c.JupyterHub.bind_url = f"http://127.0.0.1:{os.environ['BENCH_PORT']}"
c.JupyterHub.hub_ip = "0.0.0.0"
c.JupyterHub.hub_connect_ip = os.environ["BENCH_DOCKER0_IP"]
c.JupyterHub.hub_port = int(os.environ["BENCH_HUB_PORT"])
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{os.environ['BENCH_PROXY_API_PORT']}"
c.ConfigurableHTTPProxy.command = [os.environ["BENCH_PROXY_COMMAND"]]


class _NoStatsd:
    """NativeAuthenticator 1.3.0's login handler times itself with `self.statsd`, which JupyterHub 6 removed
    (every stock login is a 500 without it); this gives back the no-op client older hubs had by default."""

    def timer(self, name: str) -> "_NoStatsd":
        return self

    def start(self) -> "_NoStatsd":
        return self

    def stop(self, send: bool = True) -> None:
        pass


from nativeauthenticator.handlers import LoginHandler  # noqa: E402

LoginHandler.statsd = _NoStatsd()
c.JupyterHub.authenticator_class = "native"
c.NativeAuthenticator.open_signup = True  # the benchmark signs its learners up through the form, untimed
c.Authenticator.allow_all = True  # who may log in is NativeAuthenticator's own (authorised accounts)
# The benchmark's housekeeping (stop every workspace between rounds), never a learner's request.
c.JupyterHub.services = [{"name": "bench", "api_token": os.environ["BENCH_API_TOKEN"]}]
c.JupyterHub.load_roles = [{"name": "bench", "scopes": ["admin:users", "admin:servers"], "services": ["bench"]}]
c.JupyterHub.spawner_class = "dockerspawner.DockerSpawner"
c.DockerSpawner.image = os.environ["BENCH_IMAGE"]
c.DockerSpawner.pull_policy = "never"
c.DockerSpawner.remove = True
c.DockerSpawner.name_template = prefix + "-stock-{username}"
c.DockerSpawner.notebook_dir = "/home/hocvien"
c.DockerSpawner.volumes = {prefix + "-stock-home-{username}": "/home/hocvien"}
# Our workspace limits and spawn timeouts (hub/spawner.py, hub/configure.py), nothing of our hardening.
c.DockerSpawner.mem_limit = os.environ["BENCH_MEM_LIMIT"]
c.DockerSpawner.cpu_limit = float(os.environ["BENCH_CPU_LIMIT"])
c.DockerSpawner.extra_host_config = {
    "pids_limit": int(os.environ["BENCH_PIDS_LIMIT"]),
    "memswap_limit": os.environ["BENCH_MEM_LIMIT"],
}
c.Spawner.start_timeout = int(os.environ["BENCH_START_TIMEOUT"])
c.Spawner.http_timeout = int(os.environ["BENCH_HTTP_TIMEOUT"])
c.Spawner.default_url = "/lab"
c.JupyterHub.cleanup_servers = True
