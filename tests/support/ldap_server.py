"""A real OpenLDAP server (Debian's slapd) for the test run: its own config, database and port in a temporary
folder, loaded with slapadd before it starts, stopped when the block ends."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from support.hub import free_port

SLAPD = "/usr/sbin/slapd"
SLAPADD = "/usr/sbin/slapadd"
SUFFIX = "dc=bonoivu,dc=gov,dc=vn"
PEOPLE = f"ou=people,{SUFFIX}"
STAFF_GROUP = f"cn=hoc-vien-truong-so,ou=groups,{SUFFIX}"


@dataclass
class LdapServer:
    url: str
    process: subprocess.Popen

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(20)


def available() -> bool:
    return shutil.which(SLAPD) is not None and Path("/etc/ldap/schema/core.schema").is_file()


def _config(folder: Path) -> Path:
    (folder / "db").mkdir(parents=True)
    config = folder / "slapd.conf"
    config.write_text(
        "\n".join(
            [
                *(f"include /etc/ldap/schema/{name}.schema" for name in ("core", "cosine", "inetorgperson", "nis")),
                "modulepath /usr/lib/ldap",
                "moduleload back_mdb",
                f"pidfile {folder / 'slapd.pid'}",
                "database mdb",
                "maxsize 10485760",
                f'suffix "{SUFFIX}"',
                f'rootdn "cn=admin,{SUFFIX}"',
                "rootpw not-used-by-the-tests",
                f"directory {folder / 'db'}",
                "",
            ]
        ),
        encoding="utf-8",
    )
    return config


def _entries(people: dict[str, str], in_group: list[str]) -> str:
    """LDIF: the base, people (uid, password in clear: slapd compares it on bind) and one group."""
    blocks = [
        f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\no: Bo Noi vu\ndc: bonoivu",
        f"dn: {PEOPLE}\nobjectClass: organizationalUnit\nou: people",
        f"dn: ou=groups,{SUFFIX}\nobjectClass: organizationalUnit\nou: groups",
    ]
    for uid, password in people.items():
        blocks.append(
            f"dn: uid={uid},{PEOPLE}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {uid}\nsn: {uid}\n"
            f"userPassword: {password}"
        )
    members = "\n".join(f"member: uid={uid},{PEOPLE}" for uid in in_group)
    blocks.append(f"dn: {STAFF_GROUP}\nobjectClass: groupOfNames\ncn: hoc-vien-truong-so\n{members}")
    return "\n\n".join(blocks) + "\n"


@contextmanager
def running_slapd(folder: Path, people: dict[str, str], in_group: list[str]) -> Iterator[LdapServer]:
    config = _config(folder)
    ldif = folder / "people.ldif"
    ldif.write_text(_entries(people, in_group), encoding="utf-8")
    subprocess.run([SLAPADD, "-f", str(config), "-l", str(ldif)], check=True, capture_output=True)
    port = free_port()
    url = f"ldap://127.0.0.1:{port}"
    process = subprocess.Popen([SLAPD, "-f", str(config), "-h", url + "/", "-d", "0"],
                               stdout=subprocess.DEVNULL, stderr=(folder / "slapd.log").open("w"))  # fmt: skip
    server = LdapServer(url, process)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"slapd did not start: {(folder / 'slapd.log').read_text()[-2000:]}") from None
                time.sleep(0.1)
        yield server
    finally:
        server.stop()
