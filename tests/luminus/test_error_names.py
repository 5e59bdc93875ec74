"""LumiNUS's error strings name fields as LumiNUS does (`luminus.errors.luminus_names`), and
never touch what a message quotes: a client's own values (a group's name, a `sortby`, a `where`)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from studentgroups.luminus.errors import NAMES, luminus_names


def test_a_services_names_become_luminus_names() -> None:
    assert luminus_names("self_enrol_open_date must be before self_enrol_close_date.") == (
        "selfEnrolOpenDate must be before selfEnrolCloseDate."
    )
    assert luminus_names("pinned.user_id: user 1; ids_user_guids.key: no group") == (
        "pinned.userID: user 1; iDs_UserGuids.key: no group"
    )
    # An apostrophe in a word opens no quotation.
    assert (
        luminus_names("allow_multiple: a module's root; max_user")
        == "allowMultiple: a module's root; maxUser"
    )


def test_what_a_message_quotes_is_left_as_the_client_sent_it() -> None:
    assert luminus_names("sortby: 'group_name' is not one of groupName") == (
        "sortby: 'group_name' is not one of groupName"
    )
    assert luminus_names("cannot read \"user_id eq 'x'\"") == "cannot read \"user_id eq 'x'\""
    assert (
        luminus_names("Group 'max_user lab' is full (max_user)") == "Group 'max_user lab' is full (maxUser)"
    )


@given(
    st.lists(st.sampled_from(sorted(NAMES)), min_size=1, max_size=4),
    st.text(alphabet=st.characters(exclude_characters="'\"", exclude_categories=["Cs"]), max_size=30),
)
def test_quoted_text_never_changes_and_every_bare_name_is_mapped(names: list[str], value: str) -> None:
    text = " ".join(names) + f" '{value}'"
    assert luminus_names(text) == " ".join(NAMES[n] for n in names) + f" '{value}'"
