"""Make the synthetic datasets shipped with the Trường Số courses.

Every file is written from a fixed seed with explicit number formatting, so running this script
again gives the committed files byte for byte (a test checks it). Nothing here is real personal data:
names, ID numbers, phone numbers and e-mail addresses are invented (phone numbers use the unassigned
prefix 0123, e-mail addresses the reserved ``.example`` domain).

Usage::

    python courses/make_datasets.py              # write into courses/ (next to this file)
    python courses/make_datasets.py --out DIR    # write the same tree under DIR
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import unicodedata
import zipfile
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from pathlib import Path

SEED = 20231215
HERE = Path(__file__).resolve().parent
FIXED_ZIP_TIME = (2024, 1, 1, 0, 0, 0)

TRUNG_DU = "Trung du và miền núi phía Bắc"
DB_SONG_HONG = "Đồng bằng sông Hồng"
MIEN_TRUNG = "Bắc Trung Bộ và Duyên hải miền Trung"
TAY_NGUYEN = "Tây Nguyên"
DONG_NAM_BO = "Đông Nam Bộ"
DB_CUU_LONG = "Đồng bằng sông Cửu Long"
REGIONS = [TRUNG_DU, DB_SONG_HONG, MIEN_TRUNG, TAY_NGUYEN, DONG_NAM_BO, DB_CUU_LONG]

# (code, name, region): the 63 provinces and centrally-run cities (administrative map of 2023).
PROVINCES: list[tuple[str, str, str]] = [
    ("01", "Hà Nội", DB_SONG_HONG),
    ("02", "Hà Giang", TRUNG_DU),
    ("04", "Cao Bằng", TRUNG_DU),
    ("06", "Bắc Kạn", TRUNG_DU),
    ("08", "Tuyên Quang", TRUNG_DU),
    ("10", "Lào Cai", TRUNG_DU),
    ("11", "Điện Biên", TRUNG_DU),
    ("12", "Lai Châu", TRUNG_DU),
    ("14", "Sơn La", TRUNG_DU),
    ("15", "Yên Bái", TRUNG_DU),
    ("17", "Hòa Bình", TRUNG_DU),
    ("19", "Thái Nguyên", TRUNG_DU),
    ("20", "Lạng Sơn", TRUNG_DU),
    ("22", "Quảng Ninh", DB_SONG_HONG),
    ("24", "Bắc Giang", TRUNG_DU),
    ("25", "Phú Thọ", TRUNG_DU),
    ("26", "Vĩnh Phúc", DB_SONG_HONG),
    ("27", "Bắc Ninh", DB_SONG_HONG),
    ("30", "Hải Dương", DB_SONG_HONG),
    ("31", "Hải Phòng", DB_SONG_HONG),
    ("33", "Hưng Yên", DB_SONG_HONG),
    ("34", "Thái Bình", DB_SONG_HONG),
    ("35", "Hà Nam", DB_SONG_HONG),
    ("36", "Nam Định", DB_SONG_HONG),
    ("37", "Ninh Bình", DB_SONG_HONG),
    ("38", "Thanh Hóa", MIEN_TRUNG),
    ("40", "Nghệ An", MIEN_TRUNG),
    ("42", "Hà Tĩnh", MIEN_TRUNG),
    ("44", "Quảng Bình", MIEN_TRUNG),
    ("45", "Quảng Trị", MIEN_TRUNG),
    ("46", "Thừa Thiên Huế", MIEN_TRUNG),
    ("48", "Đà Nẵng", MIEN_TRUNG),
    ("49", "Quảng Nam", MIEN_TRUNG),
    ("51", "Quảng Ngãi", MIEN_TRUNG),
    ("52", "Bình Định", MIEN_TRUNG),
    ("54", "Phú Yên", MIEN_TRUNG),
    ("56", "Khánh Hòa", MIEN_TRUNG),
    ("58", "Ninh Thuận", MIEN_TRUNG),
    ("60", "Bình Thuận", MIEN_TRUNG),
    ("62", "Kon Tum", TAY_NGUYEN),
    ("64", "Gia Lai", TAY_NGUYEN),
    ("66", "Đắk Lắk", TAY_NGUYEN),
    ("67", "Đắk Nông", TAY_NGUYEN),
    ("68", "Lâm Đồng", TAY_NGUYEN),
    ("70", "Bình Phước", DONG_NAM_BO),
    ("72", "Tây Ninh", DONG_NAM_BO),
    ("74", "Bình Dương", DONG_NAM_BO),
    ("75", "Đồng Nai", DONG_NAM_BO),
    ("77", "Bà Rịa - Vũng Tàu", DONG_NAM_BO),
    ("79", "TP. Hồ Chí Minh", DONG_NAM_BO),
    ("80", "Long An", DB_CUU_LONG),
    ("82", "Tiền Giang", DB_CUU_LONG),
    ("83", "Bến Tre", DB_CUU_LONG),
    ("84", "Trà Vinh", DB_CUU_LONG),
    ("86", "Vĩnh Long", DB_CUU_LONG),
    ("87", "Đồng Tháp", DB_CUU_LONG),
    ("89", "An Giang", DB_CUU_LONG),
    ("91", "Kiên Giang", DB_CUU_LONG),
    ("92", "Cần Thơ", DB_CUU_LONG),
    ("93", "Hậu Giang", DB_CUU_LONG),
    ("94", "Sóc Trăng", DB_CUU_LONG),
    ("95", "Bạc Liêu", DB_CUU_LONG),
    ("96", "Cà Mau", DB_CUU_LONG),
]
PROVINCE_NAMES = [p[1] for p in PROVINCES]

HO = [
    "Nguyễn",
    "Trần",
    "Lê",
    "Phạm",
    "Hoàng",
    "Huỳnh",
    "Phan",
    "Vũ",
    "Võ",
    "Đặng",
    "Bùi",
    "Đỗ",
    "Hồ",
    "Ngô",
    "Dương",
    "Lý",
]
HO_WEIGHTS = [31, 11, 9, 7, 5, 4, 4, 4, 3, 3, 3, 3, 2, 2, 2, 1]
DEM_NAM = ["Văn", "Hữu", "Đức", "Minh", "Quang", "Thanh", "Xuân", "Anh", "Công", "Tiến"]
DEM_NU = ["Thị", "Ngọc", "Thu", "Hồng", "Thanh", "Minh", "Phương", "Thùy", "Kim", "Diệu"]
TEN_NAM = [
    "An",
    "Bình",
    "Dũng",
    "Hải",
    "Hiếu",
    "Hùng",
    "Khánh",
    "Long",
    "Minh",
    "Nam",
    "Phong",
    "Quân",
    "Sơn",
    "Thắng",
    "Trung",
    "Tuấn",
    "Việt",
    "Đạt",
    "Cường",
    "Khoa",
]
TEN_NU = [
    "Anh",
    "Chi",
    "Giang",
    "Hà",
    "Hạnh",
    "Hoa",
    "Hương",
    "Lan",
    "Linh",
    "Mai",
    "Nga",
    "Ngọc",
    "Phương",
    "Quỳnh",
    "Tâm",
    "Thảo",
    "Trang",
    "Yến",
    "Hằng",
    "Nhung",
]
DON_VI = [
    "Sở Nội vụ",
    "Sở Tài chính",
    "Sở Thông tin và Truyền thông",
    "Sở Kế hoạch và Đầu tư",
    "Văn phòng UBND tỉnh",
    "Sở Y tế",
    "Sở Giáo dục và Đào tạo",
    "Sở Tư pháp",
    "Cục Thống kê",
    "Sở Tài nguyên và Môi trường",
    "UBND cấp huyện",
    "UBND cấp xã",
]
KHOA_HOC = [
    # code, name, hours, fee per learner (VND) for self-funded ("xã hội hóa") classes
    ("PTDL", "Phân tích dữ liệu cơ bản", 40, 2_400_000),
    ("KNS", "Kỹ năng số cho cán bộ", 16, 1_200_000),
    ("ATTT", "An toàn thông tin cơ bản", 24, 1_800_000),
    ("CDS", "Chuyển đổi số trong cơ quan nhà nước", 32, 2_000_000),
    ("QTDL", "Quản trị dữ liệu", 40, 2_600_000),
    ("LDS", "Lãnh đạo trong kỷ nguyên số", 24, 3_000_000),
]
LINH_VUC = ["Hộ tịch", "Đăng ký kinh doanh", "Tư pháp", "Xây dựng", "Đất đai"]


def rng_for(name: str) -> random.Random:
    """One independent, reproducible random stream per dataset."""
    return random.Random(f"{SEED}:{name}")


def pick_name(r: random.Random) -> tuple[str, str]:
    female = r.random() < 0.5
    ho = r.choices(HO, HO_WEIGHTS)[0]
    dem = r.choice(DEM_NU if female else DEM_NAM)
    ten = r.choice(TEN_NU if female else TEN_NAM)
    return f"{ho} {dem} {ten}", ("Nữ" if female else "Nam")


def ascii_fold(text: str) -> str:
    """'Nguyễn Đức' -> 'nguyen duc' (for invented e-mail addresses)."""
    text = text.replace("Đ", "D").replace("đ", "d")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def partition(total: int, n: int, lo: int, hi: int, r: random.Random) -> list[int]:
    """n integers in [lo, hi] that add up to total."""
    sizes = [r.randint(lo, hi) for _ in range(n)]
    while sum(sizes) != total:
        i = r.randrange(n)
        if sum(sizes) < total and sizes[i] < hi:
            sizes[i] += 1
        elif sum(sizes) > total and sizes[i] > lo:
            sizes[i] -= 1
    return sizes


def write_csv(
    path: Path,
    header: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    encoding: str = "utf-8",
    delimiter: str = ",",
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    path.write_bytes(buf.getvalue().encode(encoding))


def write_xlsx(path: Path, sheets: dict[str, list[list[object]]]) -> None:
    """Write an .xlsx whose bytes depend only on the data (fixed dates in metadata and zip entries)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
        for cell in ws[1]:
            cell.font = Font(bold=True)
    wb.properties.creator = "Trường Số"
    raw = io.BytesIO()
    wb.save(raw)
    fixed = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(fixed, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in sorted(src.infolist(), key=lambda i: i.filename):
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = _fix_core_dates(data.decode("utf-8")).encode("utf-8")
            entry = zipfile.ZipInfo(info.filename, date_time=FIXED_ZIP_TIME)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            dst.writestr(entry, data)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(fixed.getvalue())


def _fix_core_dates(xml: str) -> str:
    import re

    return re.sub(r"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)", r"\g<1>2024-01-01T00:00:00Z\g<3>", xml)


def encode_cp1258(text: str) -> bytes:
    """Encode Vietnamese text the way old Windows-1258 software did: base letter + combining tone mark."""
    tones = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}
    out = bytearray()
    for ch in unicodedata.normalize("NFC", text):
        try:
            out += ch.encode("cp1258")
            continue
        except UnicodeEncodeError:
            pass
        parts = unicodedata.normalize("NFD", ch)
        base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in tones))
        tone = "".join(c for c in parts if c in tones)
        out += (base + tone).encode("cp1258")
    return bytes(out)


def vn_thousands(n: int) -> str:
    """1500000 -> '1.500.000' (Vietnamese thousands separator)."""
    return f"{n:,}".replace(",", ".")


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


# --------------------------------------------------------------------------------------------------
# Shared table: provinces
# --------------------------------------------------------------------------------------------------


def province_rows() -> list[list[object]]:
    r = rng_for("tinh_thanh")
    rows = []
    for code, name, region in PROVINCES:
        if code in ("01", "79"):
            pop = r.randint(8300, 9500)
        else:
            pop = r.randint(300, 3700)
        rows.append([code, name, region, pop])
    return rows


def write_provinces(path: Path) -> None:
    write_csv(path, ["ma_tinh", "ten_tinh", "vung", "dan_so_nghin_nguoi"], province_rows())


# --------------------------------------------------------------------------------------------------
# Course "phan-tich-du-lieu"
# --------------------------------------------------------------------------------------------------


def ptdl_02_registrations(path: Path) -> None:
    r = rng_for("dang_ky_hoc_vien")
    variants = {
        "TP. Hồ Chí Minh": ["TP HCM", "Tp. Hồ Chí Minh", "Thành phố Hồ Chí Minh", "TP.HCM"],
        "Hà Nội": ["TP. Hà Nội", "Thành phố Hà Nội", "Ha Noi"],
        "Thừa Thiên Huế": ["Thừa Thiên - Huế", "TT Huế"],
    }
    rows: list[list[object]] = []
    for i in range(1, 311):
        name, _ = pick_name(r)
        x = r.random()
        if x < 0.10:
            name = name.upper()
        elif x < 0.18:
            name = name.lower()
        elif x < 0.26:
            name = nfd(name)
        if r.random() < 0.15:
            name = "  " + name.replace(" ", "  ", 1) + " "
        _code, prov, _region = r.choice(PROVINCES[:20] + [PROVINCES[0], PROVINCES[49]] * 6)
        y = r.random()
        if prov in variants and y < 0.5:
            prov = r.choice(variants[prov])
        elif y < 0.12:
            prov = nfd(prov)
        elif y < 0.18:
            prov = " " + prov + "  "
        elif y < 0.22:
            prov = prov.lower()
        d = date(2023, 1, 2) + timedelta(days=r.randrange(360))
        z = r.random()
        if z < 0.04:
            ngay = ""
        elif z < 0.06:
            ngay = r.choice(["31/02/2023", "30/02/2023", "31/04/2023", "00/05/2023"])
        else:
            ngay = d.strftime("%d/%m/%Y")
        khoa = r.choice(KHOA_HOC)
        gio = "" if r.random() < 0.07 else str(khoa[2] - r.choice([0, 0, 0, 4, 8]))
        fee = khoa[3] if r.random() < 0.8 else 0
        w = r.random()
        if w < 0.06:
            phi = ""
        elif w < 0.55:
            phi = vn_thousands(fee)
        else:
            phi = str(fee)
        rows.append([f"DK{i:04d}", name, r.choice(DON_VI), prov, ngay, khoa[1], gio, phi])
    for j in sorted(r.sample(range(len(rows)), 12), reverse=True):
        rows.insert(j + 1, list(rows[j]))
    write_csv(
        path,
        ["ma_dang_ky", "ho_ten", "don_vi", "tinh_thanh", "ngay_dang_ky", "khoa_hoc", "so_gio_hoc", "hoc_phi"],
        rows,
    )


def ptdl_03_classes(folder: Path) -> None:
    r = rng_for("lop_hoc_2023")
    budget = partition(886, 21, 30, 60, r)
    social = partition(7800, 121, 30, 100, r)
    sources = ["Ngân sách nhà nước"] * 21 + ["Xã hội hóa"] * 121
    sizes = budget + social
    order = list(range(142))
    r.shuffle(order)
    weights = [6 if p[0] in ("01", "79") else (3 if p[2] == DB_SONG_HONG else 1) for p in PROVINCES]
    central = set(r.sample(range(142), 3))
    rows = []
    for n, k in enumerate(order, start=1):
        khoa = r.choices(KHOA_HOC, [5, 6, 3, 4, 2, 2])[0]
        ma_tinh = "00" if n - 1 in central else r.choices(PROVINCES, weights)[0][0]
        rows.append([f"L23-{n:03d}", khoa[0], ma_tinh, sources[k], r.randint(1, 12), sizes[k]])
    write_csv(
        folder / "lop_hoc_2023.csv",
        ["ma_lop", "ma_khoa", "ma_tinh", "nguon_kinh_phi", "thang_khai_giang", "so_hoc_vien"],
        rows,
    )
    write_csv(
        folder / "khoa_hoc.csv", ["ma_khoa", "ten_khoa", "so_gio", "hoc_phi_moi_hoc_vien"], [list(k) for k in KHOA_HOC]
    )
    write_provinces(folder / "tinh_thanh.csv")


def ptdl_04_monthly(path: Path) -> None:
    r = rng_for("ho_so_theo_thang")
    scale = {TRUNG_DU: 0.7, DB_SONG_HONG: 1.6, MIEN_TRUNG: 1.2, TAY_NGUYEN: 0.45, DONG_NAM_BO: 1.5, DB_CUU_LONG: 1.0}
    lift = {TRUNG_DU: -6, DB_SONG_HONG: 6, MIEN_TRUNG: 0, TAY_NGUYEN: -8, DONG_NAM_BO: 8, DB_CUU_LONG: -2}
    rows = []
    for thang in range(1, 13):
        season = 0.8 if thang in (1, 2) else 1.0
        for vung in REGIONS:
            tong = int(60000 * scale[vung] * season * r.uniform(0.9, 1.1))
            rate = (34 + 1.9 * (thang - 1) + lift[vung] + r.uniform(-2.5, 2.5)) / 100
            rows.append([thang, vung, tong, round(tong * rate)])
    write_csv(path, ["thang", "vung", "tong_ho_so", "ho_so_truc_tuyen"], rows)


def ptdl_05_processing(path: Path) -> None:
    r = rng_for("thoi_gian_xu_ly")
    spec = {  # field: (deadline days, typical days, share online)
        "Hộ tịch": (3, 2.0, 0.75),
        "Đăng ký kinh doanh": (3, 2.5, 0.7),
        "Tư pháp": (10, 6.0, 0.45),
        "Xây dựng": (15, 11.0, 0.25),
        "Đất đai": (30, 20.0, 0.15),
    }
    counts = {"Hộ tịch": 170, "Đăng ký kinh doanh": 120, "Tư pháp": 110, "Xây dựng": 100, "Đất đai": 100}
    rows = []
    n = 0
    for field, count in counts.items():
        deadline, typical, online_share = spec[field]
        for _ in range(count):
            n += 1
            online = r.random() < online_share
            days = r.lognormvariate(0, 0.45) * typical * (0.95 if online else 1.0)
            days = max(1, round(days))
            rows.append([f"HS23-{n:05d}", field, "Trực tuyến" if online else "Trực tiếp", days, deadline])
    for i in r.sample(range(len(rows)), 6):
        if rows[i][1] == "Đất đai" or r.random() < 0.5:
            rows[i][3] = r.randint(95, 180)
    r.shuffle(rows)
    write_csv(path, ["ma_ho_so", "linh_vuc", "kenh", "so_ngay_xu_ly", "han_xu_ly_ngay"], rows)


def ptdl_06_learners(path: Path) -> None:
    r = rng_for("hoc_vien_ket_qua")
    rows = []
    for i in range(1, 401):
        tuoi = r.randint(24, 58)
        gio = round(min(max(r.gauss(12, 5), 0), 30), 1)
        bai = min(7, max(0, round(r.gauss(5, 1.6))))
        cc = round(min(max(r.gauss(85, 9), 40), 100), 1)
        diem = 8 + 1.3 * gio + 4.5 * bai + 0.3 * cc - 0.08 * (tuoi - 35) + r.gauss(0, 6)
        rows.append([f"HV{i:04d}", tuoi, f"{gio:.1f}", bai, f"{cc:.1f}", f"{min(max(diem, 0), 100):.1f}"])
    write_csv(path, ["ma_hoc_vien", "tuoi", "so_gio_tu_hoc", "so_bai_nop", "ty_le_chuyen_can", "diem_cuoi_khoa"], rows)


def ptdl_07_case(folder: Path) -> None:
    r = rng_for("dich_vu_cong_2023")
    lift = {TRUNG_DU: -8, DB_SONG_HONG: 6, MIEN_TRUNG: 0, TAY_NGUYEN: -6, DONG_NAM_BO: 7, DB_CUU_LONG: -1}
    weak = {"06", "12", "62", "93", "44", "11", "58"}
    rows = []
    base_pop = {row[0]: row[3] for row in province_rows()}
    for code, _name, region in PROVINCES:
        online0 = 42 + lift[region] + r.uniform(-6, 6) - (14 if code in weak else 0)
        ontime0 = 95 + lift[region] / 3 + r.uniform(-2, 2) - (7 if code in weak else 0)
        size = base_pop[code] * r.uniform(2.0, 3.0)
        for thang in range(1, 13):
            tong = round(size * r.uniform(0.85, 1.15) * (0.8 if thang in (1, 2) else 1.0))
            online = round(tong * min(0.95, (online0 + 1.2 * (thang - 1) + r.uniform(-3, 3)) / 100))
            ontime = round(tong * min(0.995, (ontime0 + r.uniform(-1.5, 1.5)) / 100))
            rows.append([code, thang, tong, online, ontime])
    for i in sorted(r.sample(range(len(rows)), 5), reverse=True):
        del rows[i]
    for i in r.sample(range(len(rows)), 3):
        rows.append(list(rows[i]))
    write_csv(
        folder / "dich_vu_cong_2023.csv", ["ma_tinh", "thang", "tong_ho_so", "ho_so_truc_tuyen", "ho_so_dung_han"], rows
    )
    write_provinces(folder / "tinh_thanh.csv")


# --------------------------------------------------------------------------------------------------
# Course "ky-nang-so"
# --------------------------------------------------------------------------------------------------

KNS_UNITS = [
    ("Sở Thông tin và Truyền thông", "Hà Nội"),
    ("Sở Nội vụ", "Hà Nội"),
    ("Sở Tài chính", "Hải Phòng"),
    ("Văn phòng UBND tỉnh", "Quảng Ninh"),
    ("Sở Tư pháp", "Nghệ An"),
    ("Sở Y tế", "Thanh Hóa"),
    ("Sở Kế hoạch và Đầu tư", "Đà Nẵng"),
    ("Sở Giáo dục và Đào tạo", "Thừa Thiên Huế"),
    ("Cục Thống kê", "Khánh Hòa"),
    ("Sở Thông tin và Truyền thông", "Đắk Lắk"),
    ("Sở Nội vụ", "Lâm Đồng"),
    ("Sở Tài nguyên và Môi trường", "Bình Dương"),
    ("Văn phòng UBND tỉnh", "Đồng Nai"),
    ("Sở Thông tin và Truyền thông", "TP. Hồ Chí Minh"),
    ("Sở Tư pháp", "Cần Thơ"),
    ("Sở Y tế", "An Giang"),
    ("Sở Tài chính", "Cà Mau"),
    ("Sở Nội vụ", "Lào Cai"),
    ("Sở Kế hoạch và Đầu tư", "Điện Biên"),
    ("Cục Thống kê", "Hà Giang"),
]


def kns_units() -> list[list[object]]:
    r = rng_for("don_vi")
    rows = []
    for i, (agency, prov) in enumerate(KNS_UNITS, start=1):
        rows.append([f"DV{i:03d}", f"{agency} {prov}", prov, r.randint(35, 420), round(r.uniform(62, 99), 1)])
    return rows


def kns_01_formats(folder: Path) -> None:
    header = ["ma_don_vi", "ten_don_vi", "tinh_thanh", "so_can_bo", "ty_le_hoan_thanh"]
    units = kns_units()
    write_csv(folder / "don_vi.csv", header, [[*u[:4], f"{u[4]:.1f}"] for u in units])
    write_csv(
        folder / "don_vi_excel.csv",
        header,
        [[*u[:4], f"{u[4]:.1f}".replace(".", ",")] for u in units],
        encoding="utf-8-sig",
        delimiter=";",
    )
    write_xlsx(
        folder / "don_vi.xlsx",
        {
            "Đơn vị": [header, *units],
            "Ghi chú": [
                ["muc", "noi_dung"],
                ["Nguồn", "Số liệu giả lập cho khóa học Kỹ năng số (không phải số liệu thật)"],
                ["Đơn vị tính", "so_can_bo: người; ty_le_hoan_thanh: %"],
            ],
        },
    )
    records = []
    for u in units:
        slug = str(u[0]).lower()
        records.append(
            {
                "ma_don_vi": u[0],
                "ten_don_vi": u[1],
                "tinh_thanh": u[2],
                "so_can_bo": u[3],
                "ty_le_hoan_thanh": u[4],
                "lien_he": {
                    "email": f"vanthu.{slug}@coquan.example",
                    "dien_thoai": f"0123 {400000 + int(u[3]) * 7:06d}",
                },
            }
        )
    text = json.dumps({"nguon": "Số liệu giả lập", "nam": 2023, "don_vi": records}, ensure_ascii=False, indent=2) + "\n"
    (folder / "don_vi.json").write_bytes(text.encode("utf-8"))
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(["ma_don_vi", "ten_don_vi", "tinh_thanh"])
    for u in units[:12]:
        writer.writerow(u[:3])
    (folder / "bao_cao_cu.csv").write_bytes(encode_cp1258(buf.getvalue()))


def kns_02_budget(folder: Path) -> None:
    r = rng_for("ngan_sach_dao_tao")
    units = kns_units()
    plan_rows: list[list[object]] = [["ma_don_vi", "ten_don_vi", "du_toan_trieu_dong"]]
    spend_rows: list[list[object]] = [["ma_don_vi", "quy", "chi_trieu_dong"]]
    for u in units:
        plan = r.randrange(200, 1600, 10)
        plan_rows.append([u[0], u[1], plan])
        pace = r.uniform(0.45, 1.0)
        for quy in range(1, 5):
            spend_rows.append([u[0], quy, round(plan * pace * r.uniform(0.15, 0.32))])
    plan_rows.append(["", "Tổng cộng", sum(int(row[2]) for row in plan_rows[1:])])
    write_xlsx(folder / "ngan_sach_dao_tao.xlsx", {"Dự toán": plan_rows, "Thực hiện": spend_rows})


def kns_03_citizens(path: Path) -> None:
    r = rng_for("phan_anh_cong_dan")
    themes = {
        "Đất đai": ["Hồ sơ cấp giấy chứng nhận quyền sử dụng đất quá hạn", "Đề nghị hướng dẫn thủ tục tách thửa"],
        "Hộ tịch": ["Chưa nhận được bản sao trích lục khai sinh", "Đề nghị sửa sai thông tin trên giấy khai sinh"],
        "Môi trường": ["Phản ánh rác thải tồn đọng tại khu dân cư", "Tiếng ồn từ xưởng sản xuất ban đêm"],
        "Giao thông": ["Đèn tín hiệu giao thông hỏng nhiều ngày", "Đường xuống cấp gây mất an toàn"],
        "Dịch vụ công": ["Không đăng nhập được Cổng dịch vụ công", "Thanh toán lệ phí trực tuyến bị lỗi"],
    }
    streets = ["Lê Lợi", "Trần Hưng Đạo", "Nguyễn Trãi", "Hai Bà Trưng", "Lý Thường Kiệt", "Quang Trung"]
    rows = []
    for i in range(1, 241):
        name, sex = pick_name(r)
        code, prov, _ = r.choice(PROVINCES)
        born = date(1950, 1, 1) + timedelta(days=r.randrange(365 * 55))
        century_sex = (0 if born.year < 2000 else 2) + (1 if sex == "Nữ" else 0)
        cccd = f"0{code}{century_sex}{born.year % 100:02d}{r.randrange(10**6):06d}"
        phone = f"0123{r.randrange(10**6):06d}"
        email = f"{ascii_fold(name).replace(' ', '.')}{r.randint(1, 99)}@thudientu.example"
        field = r.choice(list(themes))
        content = r.choice(themes[field])
        x = r.random()
        if x < 0.15:
            content += f". Liên hệ lại số {phone}"
        elif x < 0.25:
            content += f", xin trả lời qua email {email}"
        elif x < 0.30:
            content += f". Số CCCD của tôi: {cccd}"
        received = date(2023, 1, 3) + timedelta(days=r.randrange(355))
        rows.append(
            [
                f"PA23-{i:04d}",
                name,
                cccd,
                born.strftime("%Y-%m-%d"),
                sex,
                phone,
                email,
                f"Số {r.randint(1, 200)} đường {r.choice(streets)}, {prov}",
                prov,
                field,
                content,
                received.strftime("%Y-%m-%d"),
                r.choice(["Đã giải quyết", "Đang xử lý", "Đã giải quyết"]),
            ]
        )
    write_csv(
        path,
        [
            "ma_phan_anh",
            "ho_ten",
            "so_cccd",
            "ngay_sinh",
            "gioi_tinh",
            "so_dien_thoai",
            "email",
            "dia_chi",
            "tinh_thanh",
            "linh_vuc",
            "noi_dung",
            "ngay_tiep_nhan",
            "trang_thai",
        ],
        rows,
    )


def kns_04_survey(path: Path) -> None:
    r = rng_for("khao_sat_hai_long")
    rows: list[list[object]] = []
    for i in range(1, 501):
        field = r.choice(LINH_VUC)
        channel = "Trực tuyến" if r.random() < 0.45 else "Trực tiếp"
        score = min(5, max(1, round(r.gauss(3.9 if channel == "Trực tuyến" else 3.6, 0.9))))
        wait = max(0, round(r.gauss(12 if channel == "Trực tuyến" else 28, 8)))
        day = date(2023, 1, 3) + timedelta(days=r.randrange(355))
        rows.append([f"KS{i:04d}", day.strftime("%Y-%m-%d"), r.choice(PROVINCE_NAMES), field, channel, score, wait])
    idx = r.sample(range(len(rows)), 40)
    for k, i in enumerate(idx):
        row = rows[i]
        if k < 12:
            row[5] = ""  # missing score
        elif k < 19:
            row[5] = r.choice([0, 6, 10, 55])  # out of the 1-5 scale
        elif k < 24:
            row[6] = r.choice([-5, -15, 999, 1440])  # impossible waiting time
        elif k < 28:
            row[1] = r.choice(["2025-03-14", "2024-12-01", "2022-11-30", "2026-01-05"])  # outside 2023
        elif k < 34:
            row[2] = r.choice(["Hà Nôi", "Ho Chi Minh", "Đà Nẵng ", "Thanh Hoá", "Cần Thơ city", "Hue"])
        else:
            row[6] = ""  # missing waiting time
    for i in sorted(r.sample(range(len(rows)), 8), reverse=True):
        rows.insert(i + 1, list(rows[i]))
    write_csv(
        path,
        ["ma_phieu", "ngay_khao_sat", "tinh_thanh", "linh_vuc", "kenh", "diem_hai_long", "thoi_gian_cho_phut"],
        rows,
    )


def make_all(root: Path) -> list[Path]:
    """Write every dataset under root (the courses/ folder or a copy of its layout)."""
    ptdl = root / "phan-tich-du-lieu" / "source"
    kns = root / "ky-nang-so" / "source"
    ptdl_02_registrations(ptdl / "02-lam-sach-du-lieu" / "data" / "dang_ky_hoc_vien.csv")
    write_provinces(ptdl / "02-lam-sach-du-lieu" / "data" / "tinh_thanh.csv")
    ptdl_03_classes(ptdl / "03-nhom-gop-xoay" / "data")
    ptdl_04_monthly(ptdl / "04-bieu-do" / "data" / "ho_so_theo_thang.csv")
    ptdl_05_processing(ptdl / "05-thong-ke-mo-ta" / "data" / "thoi_gian_xu_ly.csv")
    ptdl_06_learners(ptdl / "06-mo-hinh-dau-tien" / "data" / "hoc_vien_ket_qua.csv")
    ptdl_07_case(ptdl / "07-tinh-huong-tong-hop" / "data")
    kns_01_formats(kns / "01-tep-va-dinh-dang" / "data")
    kns_02_budget(kns / "02-tu-bang-tinh-den-pandas" / "data")
    kns_03_citizens(kns / "03-bao-ve-du-lieu-ca-nhan" / "data" / "phan_anh_cong_dan.csv")
    kns_04_survey(kns / "04-chat-luong-du-lieu" / "data" / "khao_sat_hai_long.csv")
    write_provinces(kns / "04-chat-luong-du-lieu" / "data" / "tinh_thanh.csv")
    return sorted(p for p in root.rglob("data/*") if p.is_file())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="root folder to write into (default: courses/)")
    args = parser.parse_args(argv)
    for path in make_all(args.out):
        print(f"{path.relative_to(args.out)}  {path.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
