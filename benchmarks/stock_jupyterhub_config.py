"""A stock JupyterHub + DockerSpawner configuration, as the DockerSpawner docs describe it: the baseline of
benchmarks/spawn.py. Same image as ours; nothing of Trường Số. Settings come from the environment the
benchmark sets (BENCH_*)."""

import os

c = get_config()  # noqa: F821
prefix = os.environ["BENCH_PREFIX"]
c.JupyterHub.bind_url = f"http://127.0.0.1:{os.environ['BENCH_PORT']}"
c.JupyterHub.hub_ip = "0.0.0.0"
c.JupyterHub.hub_connect_ip = os.environ["BENCH_DOCKER0_IP"]
c.JupyterHub.hub_port = int(os.environ["BENCH_HUB_PORT"])
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{os.environ['BENCH_PROXY_API_PORT']}"
c.ConfigurableHTTPProxy.command = [os.environ["BENCH_PROXY_COMMAND"]]
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = os.environ["BENCH_PASSWORD"]
c.Authenticator.allow_all = True
c.JupyterHub.spawner_class = "dockerspawner.DockerSpawner"
c.DockerSpawner.image = os.environ["BENCH_IMAGE"]
c.DockerSpawner.pull_policy = "never"
c.DockerSpawner.remove = True
c.DockerSpawner.name_template = prefix + "-stock-{username}"
c.DockerSpawner.notebook_dir = "/home/hocvien"
c.DockerSpawner.volumes = {prefix + "-stock-home-{username}": "/home/hocvien"}
c.Spawner.default_url = "/lab"
c.JupyterHub.cleanup_servers = True
