"""Demo accounts: the organisations and users of the demo (password ``demo-password``).

Only this loader creates them; ``web.demo.load`` runs it before the domains' demos, which
receive the users by username.
"""
from web.accounts import service as accounts
from web.accounts.models import User

PASSWORD = "demo-password"

COOPERATIVE = "信丰县绿源脐橙专业合作社"
LAB = "赣州市农产品质量安全检测中心"

# name, kind, division code
ORGANISATIONS = (
    (COOPERATIVE, "cooperative", "360722"),
    (LAB, "lab", "360700"),
    ("信丰县农业农村局", "bureau", "360722"),
    ("赣州市农业农村局", "bureau", "360700"),
    ("江西省农业农村厅", "bureau", "360000"),
)

# username, role, display name, organisation, division code (bureau users)
USERS = (
    ("admin", "admin", "系统管理员", None, None),
    ("farmer1", "farmer", "刘建华", COOPERATIVE, None),
    ("farmer2", "farmer", "傅志明", None, None),
    ("farmer3", "farmer", "陈秀英", None, None),
    ("farmer4", "farmer", "汪德胜", None, None),
    ("farmer5", "farmer", "周水生", None, None),
    ("farmer6", "farmer", "万冬梅", None, None),
    ("coop1", "operator", "钟丽萍", COOPERATIVE, None),
    ("inspector1", "inspector", "黄晓峰", LAB, None),
    ("bureau_xinfeng", "bureau", "郭振东", "信丰县农业农村局", "360722"),
    ("bureau_ganzhou", "bureau", "谢文斌", "赣州市农业农村局", "360700"),
    ("bureau_jiangxi", "bureau", "罗海燕", "江西省农业农村厅", "360000"),
)



def load(summary):
    """The demo organisations and users that are missing; returns {username: User}."""
    organisations = {name: accounts.get_or_create_organisation(name, kind, division_code=division)
                     for name, kind, division in ORGANISATIONS}
    return {username: _user(username, role, display_name, organisations.get(org), division, summary)
            for username, role, display_name, org, division in USERS}


def _user(username, role, display_name, organisation, division, summary):
    existing = User.get_or_none(User.username == username)
    if existing:
        return existing
    summary["users"] += 1
    return accounts.create_user(username, PASSWORD, role, display_name=display_name,
                                organisation=organisation, division_code=division)

