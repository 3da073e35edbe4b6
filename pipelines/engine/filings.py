"""ICP and public-security filings in page text: the operator ("unit") behind a domain.

Chinese sites must show their MIIT ICP filing (京ICP备12345678号-1, 粤ICP证110507号) and
their public-security filing (京公网安备 11010502000001号), usually in the footer. The
number before the `-N` site suffix names the filing entity, so two domains showing
京ICP备12345678号-1 and 京ICP备12345678号-2 belong to one operator.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# The provinces' one-character abbreviations used in filing numbers.
PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_SPACE = r"[\s\u00a0\u3000]*"
_ICP = re.compile(
    rf"(?P<prov>[{PROVINCES}]){_SPACE}ICP{_SPACE}(?P<kind>备|備|證|证){_SPACE}(?P<num>\d{{5,12}}){_SPACE}号?"
    rf"(?:{_SPACE}[-－—]{_SPACE}(?P<site>\d{{1,4}}))?",
    re.IGNORECASE,
)
_PSB = re.compile(rf"(?P<prov>[{PROVINCES}]){_SPACE}公网安备{_SPACE}(?P<num>\d{{10,16}}){_SPACE}号?")


@dataclass(frozen=True, order=True)
class Filing:
    """One filing shown on a page. `key` identifies the filing entity (the unit), `text` is its normalized form."""

    kind: str  # "icp" (ICP 备案), "icp_license" (ICP 经营许可证), "psb" (公网安备)
    key: str  # e.g. 京ICP备12345678号 / 粤ICP证110507号 / 京公网安备11010502000001号
    text: str  # as normalized, with the site suffix: 京ICP备12345678号-1


def extract_filings(text: str) -> list[Filing]:
    """Every distinct filing in `text`, in order of first appearance."""
    found: dict[tuple[str, str], Filing] = {}
    for m in _ICP.finditer(text):
        kind_char = "证" if m.group("kind") in "证證" else "备"
        key = f"{m.group('prov')}ICP{kind_char}{m.group('num')}号"
        shown = key + (f"-{m.group('site')}" if m.group("site") else "")
        kind = "icp_license" if kind_char == "证" else "icp"
        found.setdefault((kind, shown), Filing(kind, key, shown))
    for m in _PSB.finditer(text):
        key = f"{m.group('prov')}公网安备{m.group('num')}号"
        found.setdefault(("psb", key), Filing("psb", key, key))
    return list(found.values())


def unit_key(filings: list[Filing], domain: str) -> str:
    """The unit a page belongs to on its own: its ICP entity, else its public-security filing, else its domain."""
    for kind in ("icp", "icp_license", "psb"):
        for filing in filings:
            if filing.kind == kind:
                return filing.key
    return domain
