"""The consumer page's verdict once every record is anchored on the chain (see tests/trace/test_consumer_verdict.py
for the states before anchoring and after a change)."""
import re


def _verdict(page):
    match = re.search(r'<section class="card verdict-card verdict-(\w+)"[^>]*>\s*<p class="verdict-line"><strong>'
                      r'(.*?)</strong>', page, re.S)
    assert match, page[:2000]
    return match.group(1), match.group(2).strip()


def test_an_anchored_tested_journey_reads_passed_and_on_the_chain(anchored):
    tone, line = _verdict(anchored.page())
    assert tone == "warn" and line.startswith("检测合格 · ") and line.endswith("记录已封存，即将上链")
    anchored.cli("chain", "deploy")
    anchored.cli("chain", "anchor-now")
    tone, line = _verdict(anchored.page())
    assert tone == "good" and line.startswith("检测合格 · 最后一次施药距采收 ") and line.endswith(" · 全程记录已上链"), line
