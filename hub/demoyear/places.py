"""Where the synthetic school year happens: provinces, the school's organising units, the learners' agencies
and who pays for each class.

Provinces are the 63 provinces and centrally-run cities as they were in 2023 (before the 2025 merger into 34),
because the demo year's default is 2023; weights favour the large ones, where most classes are held.
"""

from __future__ import annotations

import random

CITIES = ("Hà Nội", "Hồ Chí Minh", "Hải Phòng", "Đà Nẵng", "Cần Thơ")  # thành phố trực thuộc trung ương
PROVINCES_2023 = (
    ("Hà Nội", 40), ("Hồ Chí Minh", 40), ("Hải Phòng", 8), ("Đà Nẵng", 10), ("Cần Thơ", 7),
    ("An Giang", 3), ("Bà Rịa - Vũng Tàu", 3), ("Bắc Giang", 3), ("Bắc Kạn", 1), ("Bạc Liêu", 1),
    ("Bắc Ninh", 4), ("Bến Tre", 2), ("Bình Định", 3), ("Bình Dương", 4), ("Bình Phước", 2),
    ("Bình Thuận", 2), ("Cà Mau", 2), ("Cao Bằng", 1), ("Đắk Lắk", 3), ("Đắk Nông", 1),
    ("Điện Biên", 1), ("Đồng Nai", 4), ("Đồng Tháp", 2), ("Gia Lai", 2), ("Hà Giang", 1),
    ("Hà Nam", 2), ("Hà Tĩnh", 2), ("Hải Dương", 3), ("Hậu Giang", 1), ("Hòa Bình", 1),
    ("Hưng Yên", 2), ("Khánh Hòa", 3), ("Kiên Giang", 2), ("Kon Tum", 1), ("Lai Châu", 1),
    ("Lâm Đồng", 2), ("Lạng Sơn", 1), ("Lào Cai", 2), ("Long An", 3), ("Nam Định", 2),
    ("Nghệ An", 4), ("Ninh Bình", 2), ("Ninh Thuận", 1), ("Phú Thọ", 2), ("Phú Yên", 1),
    ("Quảng Bình", 2), ("Quảng Nam", 3), ("Quảng Ngãi", 2), ("Quảng Ninh", 4), ("Quảng Trị", 1),
    ("Sóc Trăng", 1), ("Sơn La", 1), ("Tây Ninh", 2), ("Thái Bình", 2), ("Thái Nguyên", 3),
    ("Thanh Hóa", 4), ("Thừa Thiên Huế", 3), ("Tiền Giang", 2), ("Trà Vinh", 1), ("Tuyên Quang", 1),
    ("Vĩnh Long", 1), ("Vĩnh Phúc", 2), ("Yên Bái", 1),
)  # fmt: skip
assert len(PROVINCES_2023) == 63
_PROVINCES, _PROVINCE_WEIGHTS = zip(*PROVINCES_2023, strict=True)

# The school's units that organise classes, each with the province it usually teaches in (None: anywhere).
UNITS = (
    ("Khoa Khoa học dữ liệu", "Hà Nội"),
    ("Khoa Chuyển đổi số", "Hà Nội"),
    ("Trung tâm Bồi dưỡng cán bộ", None),
    ("Phân hiệu miền Trung", "Đà Nẵng"),
    ("Phân hiệu miền Nam", "Hồ Chí Minh"),
    ("Trung tâm Đào tạo trực tuyến", None),
)
# The learner's own agency in the class's province: "{kind} {tỉnh|thành phố} {province}".
PROVINCIAL_AGENCIES = (
    "Sở Tài chính", "Sở Nội vụ", "Sở Kế hoạch và Đầu tư", "Sở Thông tin và Truyền thông", "Sở Y tế",
    "Sở Giáo dục và Đào tạo", "Sở Lao động - Thương binh và Xã hội", "Sở Tài nguyên và Môi trường",
    "Cục Thống kê", "Cục Thuế", "Kho bạc Nhà nước", "Bảo hiểm xã hội", "Văn phòng UBND",
    "Trung tâm Phục vụ hành chính công",
)  # fmt: skip
# A few districts per province name (real ones); other provinces get provincial agencies only.
DISTRICTS = {
    "Hà Nội": ("quận Hoàn Kiếm", "quận Cầu Giấy", "huyện Đông Anh", "huyện Ba Vì", "quận Hà Đông"),
    "Hồ Chí Minh": ("quận 1", "thành phố Thủ Đức", "huyện Củ Chi", "quận Bình Thạnh", "huyện Bình Chánh"),
    "Đà Nẵng": ("quận Hải Châu", "huyện Hòa Vang"),
    "Nghệ An": ("huyện Quỳnh Lưu", "thành phố Vinh"),
    "Thanh Hóa": ("huyện Thọ Xuân", "thị xã Nghi Sơn"),
    "Quảng Ninh": ("thành phố Hạ Long", "huyện Vân Đồn"),
    "Lào Cai": ("thị xã Sa Pa", "huyện Bát Xát"),
    "Cần Thơ": ("quận Ninh Kiều", "huyện Phong Điền"),
}
CENTRAL_AGENCIES = (
    "Tổng cục Thống kê", "Bộ Tài chính", "Bộ Nội vụ", "Cục Chuyển đổi số quốc gia", "Văn phòng Chính phủ",
    "Bộ Kế hoạch và Đầu tư", "Bộ Thông tin và Truyền thông", "Kho bạc Nhà nước", "Bảo hiểm xã hội Việt Nam",
)  # fmt: skip
PROJECTS = (
    "Dự án Nâng cao năng lực số cho cán bộ (UNDP tài trợ)",
    "Dự án Chuyển đổi số trong quản lý nhà nước (vốn ODA Ngân hàng Thế giới)",
    "Dự án Đào tạo kỹ năng dữ liệu cho chính quyền địa phương (KOICA tài trợ)",
)


def province_label(province: str) -> str:
    return f"thành phố {province}" if province in CITIES else f"tỉnh {province}"


def random_province(rng: random.Random) -> str:
    return rng.choices(_PROVINCES, _PROVINCE_WEIGHTS)[0]


def organisation(rng: random.Random, province: str) -> str:
    """A learner's agency: mostly of the class's province, some districts, some central ministries."""
    roll = rng.random()
    if roll < 0.12:
        return rng.choice(CENTRAL_AGENCIES)
    if roll < 0.30 and province in DISTRICTS:
        return f"UBND {rng.choice(DISTRICTS[province])}, {province_label(province)}"
    return f"{rng.choice(PROVINCIAL_AGENCIES)} {province_label(province)}"


def funding_name(rng: random.Random, budget: bool, unit: str, province: str) -> str:
    """Who pays: a budget line for budget classes; fees (xã hội hoá), a project or an agency's contract else."""
    if budget:
        if rng.random() < 0.7:
            return f"Ngân sách {province_label(province)}"
        return "Ngân sách trung ương — Đề án 06"
    roll = rng.random()
    if roll < 0.55:
        return f"Xã hội hoá — {unit}"
    if roll < 0.85:
        return rng.choice(PROJECTS)
    return f"Hợp đồng đào tạo với {rng.choice(PROVINCIAL_AGENCIES)} {province_label(province)}"
