"""The labelling page's keys for a scheme of any length, and the version it records."""

import pytest

from annotation.label_page import PAGE_VERSION, hotkey_for, hotkeys_summary, posted_page_version


@pytest.mark.parametrize(
    ("count", "summary"),
    [(3, ["1–3"]), (9, ["1–9"]), (10, ["1–9", "a"]), (19, ["1–9", "a–j"]), (40, ["1–9", "a–z"])],
)
def test_the_keys_said_on_the_page_cover_the_scheme(count, summary):
    assert hotkeys_summary(count) == summary


def test_every_value_of_a_19_value_scheme_has_its_own_key():
    keys = [hotkey_for(index) for index in range(19)]

    assert len(set(keys)) == 19 and "" not in keys
    assert "0" not in keys  # 0 sets a value to 0, it never picks one
    assert hotkey_for(35) == ""  # past z: the arrow keys


def test_a_posted_version_is_kept_only_when_it_reads_as_one():
    assert posted_page_version("label-1") == "label-1"
    assert posted_page_version("<script>") == PAGE_VERSION
    assert posted_page_version(None) == PAGE_VERSION
