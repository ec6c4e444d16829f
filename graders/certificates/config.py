"""Settings of certificate issuing and verification.

Read from the `[certificates]` section of the data directory's truongso.toml (the hub's settings hand them
down, `HubSettings.certificates`; an old `<data_dir>/certificates.toml` is still read there, with a warning),
on top of what the hub already knows (data directory, database URL, public address, the school's time zone
and courses folder: FROM_HUB, which the section may not set). Example::

    [certificates]
    school_name = "Trường Đào tạo, Bồi dưỡng số"
    governing_body = "Bộ Khoa học và Công nghệ"
    signer_title = "Hiệu trưởng"
    signer_name = "Nguyễn Văn B"
    decision = "Số 706/QĐ-TBDCB"
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from traitlets import Any as AnyTrait
from traitlets import Integer, TraitError, Unicode, default, validate
from traitlets.config import Configurable

from graders.settings_files import DataDirSettings, checked_by, matching, not_negative
from graders.timeutil import SCHOOL_TIMEZONE, check_timezone

SETTINGS_FILE = "certificates.toml"  # the old place of the settings (hub.settings reads it, with a warning)
# What the hub gives (its own settings); the [certificates] section cannot set them.
FROM_HUB = ("data_dir", "db_url", "public_url", "gradebook_url", "timezone", "courses_root")
FONT_DIRS = ("/usr/share/fonts/truetype/noto", "/usr/share/fonts/truetype/dejavu")
# Serif first (official documents are set in serif); DejaVu also ships inside matplotlib, a dependency.
FONT_CANDIDATES = {
    "regular": ("NotoSerif-Regular.ttf", "DejaVuSerif.ttf"),
    "bold": ("NotoSerif-Bold.ttf", "DejaVuSerif-Bold.ttf"),
    "italic": ("NotoSerif-Italic.ttf", "DejaVuSerif-Italic.ttf"),
}


class CertificateSettingsError(ValueError):
    """A certificate setting has a value we cannot use; the message names it."""


def _find_font(kind: str) -> str:
    dirs = [Path(d) for d in FONT_DIRS]
    try:
        import matplotlib

        dirs.append(Path(matplotlib.get_data_path()) / "fonts" / "ttf")
    except ImportError:
        pass
    for name in FONT_CANDIDATES[kind]:
        for folder in dirs:
            if (folder / name).is_file():
                return str(folder / name)
    return ""


class CertificateSettings(DataDirSettings, Configurable):
    """What an operator can set about certificates, with the reasons in `help`."""

    # From the hub's settings (HubSettings); listed here so the certificate code takes one object.
    data_dir = Unicode("data", help="The hub's data directory.").tag(config=True)
    db_url = Unicode(help="Database of the certificate registry (the hub's db_url).").tag(config=True)
    public_url = Unicode(
        "http://127.0.0.1:8000/", help="Address people use; the QR code and the credential id point under it."
    ).tag(config=True)

    school_name = Unicode("Trường Đào tạo, Bồi dưỡng số", help="Issuing school, as printed (Vietnamese).").tag(
        config=True
    )
    school_name_en = Unicode("Digital Training School", help="Issuing school in English.").tag(config=True)
    governing_body = Unicode(
        "", help="Body above the school, printed over its name in the header (e.g. the ministry); may be empty."
    ).tag(config=True)
    signer_title = Unicode("Hiệu trưởng", help="Title of the person who signs the certificates.").tag(config=True)
    signer_title_en = Unicode("Principal", help="The signer's title in English.").tag(config=True)
    signer_name = Unicode("", help="Name of the signer, printed under the signature space; may be empty.").tag(
        config=True
    )
    place = Unicode("Hà Nội", help="Place printed before the date ('Hà Nội, ngày … tháng … năm …').").tag(config=True)
    roster = AnyTrait(
        None, allow_none=True,
        help="(course_id, class_name or None) -> learners; set by the hub (hub.directory.learners.roster_for), "
        "which owns the directory: graders/ never reads hub tables.",
    )  # fmt: skip
    decision = Unicode(
        "", help="Default number of the decision certificates are issued under, e.g. 'Số 706/QĐ-TBDCB'."
    ).tag(config=True)
    serial_prefix = Unicode("TS", help="Prefix of serial numbers: <prefix>-<year>-<6 digits>.").tag(config=True)
    timezone = Unicode(
        SCHOOL_TIMEZONE, help="Time zone of the dates printed and of the serial's year (the hub's `timezone`)."
    ).tag(config=True)
    output_dir = Unicode(
        help="Where the PDF and JSON of each certificate are written (default: <data_dir>/certificates)."
    ).tag(config=True)
    key_file = Unicode("", help="The Ed25519 signing key (default: <data_dir>/secrets/certificates_ed25519.pem).").tag(
        config=True
    )
    gradebook_url = Unicode(
        "sqlite:///{data_dir}/courses/{course_id}/gradebook.db",
        help="nbgrader gradebook of a course; {data_dir} and {course_id} are filled in.",
    ).tag(config=True)
    courses_root = Unicode(
        help="Folder of the course.yaml files (the hub's `courses_root`; default: the repository's courses/)."
    ).tag(config=True)
    font_regular = Unicode(help="TrueType font for the PDF (must cover Vietnamese); default Noto/DejaVu Serif.").tag(
        config=True
    )
    font_bold = Unicode(help="Bold TrueType font for the PDF.").tag(config=True)
    font_italic = Unicode(help="Italic TrueType font for the PDF.").tag(config=True)
    rate_limit_per_minute = Integer(
        60, help="Public verification requests one client address may make per minute (then 429)."
    ).tag(config=True)
    rate_limit_burst = Integer(20, help="Requests a client may make at once before the per-minute rate applies.").tag(
        config=True
    )
    max_upload_bytes = Integer(65536, help="Largest credential file accepted for verification.").tag(config=True)
    trusted_proxy_hops = Integer(
        1,
        help="Proxies in front of the service that append to X-Forwarded-For (1: JupyterHub's proxy; 2 with "
        "a reverse proxy before it). The client address is taken that many entries from the end.",
    ).tag(config=True)
    batch_size = Integer(200, help="Certificates written per database transaction when issuing.").tag(config=True)
    render_workers = Integer(0, help="Processes rendering PDFs when issuing many (0: one per CPU core).").tag(
        config=True
    )

    _default_db_url = default("db_url")(DataDirSettings._default_db_url)

    @default("output_dir")
    def _default_output_dir(self) -> str:
        return str(self.data_path / "certificates")

    @default("key_file")
    def _default_key_file(self) -> str:
        return str(self.data_path / "secrets" / "certificates_ed25519.pem")

    @default("courses_root")
    def _default_courses_root(self) -> str:
        from graders.curriculum import default_courses_root

        return str(default_courses_root())

    @default("font_regular")
    def _default_font_regular(self) -> str:
        return _find_font("regular")

    @default("font_bold")
    def _default_font_bold(self) -> str:
        return _find_font("bold")

    @default("font_italic")
    def _default_font_italic(self) -> str:
        return _find_font("italic")

    _valid_prefix = validate("serial_prefix")(
        matching(r"[A-Z]{1,6}", "serial_prefix must be 1-6 capital ASCII letters")
    )

    @validate("public_url")
    def _valid_public_url(self, proposal: dict) -> str:
        url = proposal["value"]
        return url if url.endswith("/") else url + "/"

    _valid_timezone = validate("timezone")(checked_by(check_timezone))

    @validate("rate_limit_per_minute", "rate_limit_burst", "max_upload_bytes", "batch_size")
    def _positive(self, proposal: dict) -> int:
        if proposal["value"] < 1:
            raise TraitError(f"{proposal['trait'].name} must be at least 1")
        return proposal["value"]

    _not_negative = validate("trusted_proxy_hops", "render_workers")(not_negative)

    @property
    def service_url(self) -> str:
        """Public address of the certificate service (JupyterHub serves services under services/<name>/)."""
        return f"{self.public_url}services/certificates/"

    def verify_url(self, serial: str, code: str | None = None) -> str:
        """The public page of a certificate: with its code it shows the certificate, without only its status."""
        return f"{self.service_url}verify/{serial}/{code}" if code else f"{self.service_url}verify/{serial}"

    @classmethod
    def create(cls, values: dict[str, Any], source: str) -> CertificateSettings:
        from graders.settings_files import settings_from

        return settings_from(cls, values, source, CertificateSettingsError)

    @classmethod
    def from_hub(cls, hub: Any, overrides: dict[str, Any] | None = None) -> CertificateSettings:
        """Settings for a hub (`hub.settings.HubSettings`): its `[certificates]` section on what the hub
        gives (FROM_HUB)."""
        values = dict(getattr(hub, "certificates", None) or {})
        values.update(data_dir=str(hub.data_path), db_url=hub.db_url, public_url=hub.public_url)
        for name in ("gradebook_url", "timezone", "courses_root"):
            if getattr(hub, name, None):
                values[name] = getattr(hub, name)
        values.update(overrides or {})
        return cls.create(values, str(hub.data_path / "truongso.toml") + " [certificates]")
