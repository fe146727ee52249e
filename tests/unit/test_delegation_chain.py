"""The delegation chain resolver: hops, loops, inactive delegates, the applicant as delegate."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from internal_affairs.delegation.chain import (DELEGATED, MANAGER_FOR_APPLICANT, MAX_HOPS, Grant, covers,
                                               resolve_chain)

P, D1, D2, D3, D4, APPLICANT, BOSS, BIGBOSS = 1, 2, 3, 4, 5, 9, 20, 21


def test_one_hop():
    rights = resolve_chain(P, [Grant(P, D1)], applicant=APPLICANT)
    assert set(rights) == {D1} and rights[D1].reason == DELEGATED and rights[D1].hops == 1 and rights[D1].via == P


def test_chains_stop_after_three_hops():
    grants = [Grant(P, D1), Grant(D1, D2), Grant(D2, D3), Grant(D3, D4)]
    rights = resolve_chain(P, grants, applicant=APPLICANT)
    assert set(rights) == {D1, D2, D3}
    assert [rights[d].hops for d in (D1, D2, D3)] == [1, 2, 3]


def test_a_loop_ends_and_never_gives_the_holder_a_right_of_their_own():
    rights = resolve_chain(P, [Grant(P, D1), Grant(D1, D2), Grant(D2, P), Grant(D2, D1)], applicant=APPLICANT)
    assert set(rights) == {D1, D2}


def test_an_inactive_delegate_is_passed_over_but_their_delegation_followed():
    rights = resolve_chain(P, [Grant(P, D1), Grant(D1, D2)], applicant=APPLICANT, inactive={D1})
    assert set(rights) == {D2} and rights[D2].hops == 2


def test_unrelated_grants_give_nothing():
    assert resolve_chain(P, [Grant(D1, D2), Grant(D3, P)], applicant=APPLICANT) == {}


def test_the_applicant_as_delegate_sends_the_right_one_level_up():
    rights = resolve_chain(P, [Grant(P, APPLICANT)], applicant=APPLICANT, managers={P: BOSS, BOSS: BIGBOSS})
    assert set(rights) == {BOSS}
    assert rights[BOSS].reason == MANAGER_FOR_APPLICANT and rights[BOSS].via == P


def test_the_applicant_never_passes_the_right_on():
    rights = resolve_chain(P, [Grant(P, APPLICANT), Grant(APPLICANT, D2)], applicant=APPLICANT, managers={P: BOSS})
    assert set(rights) == {BOSS}


def test_an_inactive_or_applicant_manager_is_skipped_upwards():
    managers = {P: BOSS, BOSS: BIGBOSS}
    assert set(resolve_chain(P, [Grant(P, APPLICANT)], applicant=APPLICANT, managers=managers,
                             inactive={BOSS})) == {BIGBOSS}
    assert set(resolve_chain(P, [Grant(P, BOSS)], applicant=BOSS, managers=managers)) == {BIGBOSS}


def test_no_manager_means_nobody_but_the_holder():
    assert resolve_chain(P, [Grant(P, APPLICANT)], applicant=APPLICANT, managers={}) == {}


def test_matter_scope():
    assert covers(None, "leave") and covers([], "leave") and covers(["leave", "trip"], "leave")
    assert not covers(["overseas"], "leave")


people = st.integers(min_value=1, max_value=8)
grant_lists = st.lists(st.builds(Grant, people, people), max_size=20)


@settings(max_examples=300, deadline=None)
@given(holder=people, grants=grant_lists, applicant=people, inactive=st.sets(people, max_size=3),
       managers=st.dictionaries(people, st.one_of(st.none(), people), max_size=8))
def test_properties(holder, grants, applicant, inactive, managers):
    rights = resolve_chain(holder, grants, applicant=applicant, inactive=inactive, managers=managers)
    assert holder not in rights, "the holder needs no right"
    assert applicant not in rights, "nobody decides a case they applied for"
    for person, right in rights.items():
        assert person not in inactive
        assert right.person == person
        if right.reason == DELEGATED:
            assert 1 <= right.hops <= MAX_HOPS
            assert Grant(right.via, person) in grants
        else:
            assert right.reason == MANAGER_FOR_APPLICANT and right.via == holder
            assert any(g.delegate == applicant for g in grants)
    # a delegate one hop away who is active and not the applicant always gets the right
    for g in grants:
        if g.principal == holder and g.delegate not in (holder, applicant) and g.delegate not in inactive:
            assert g.delegate in rights
