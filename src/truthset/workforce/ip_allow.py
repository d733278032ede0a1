"""Source-IP allow-lists, as Ground Truth's `SourceIpConfig`: the CIDRs workers may work
from, for the whole workforce and per team, and the proxies whose X-Forwarded-For is
believed (`trusted_proxies`, none by default).

The rule, for a worker or reviewer (admins and requesters are not held to it):
- when the workforce has a list, the request's address must be in it;
- on a request about a job (`/api/jobs/{name}/...`, `/work/{name}`), the teams that count
  are those through which the person works on that job (theirs and the job's): unless
  one of them has no list, the address must be in one of their lists (a person in two
  restricted teams works on each team's jobs from that team's place only);
- on any other request, when some of the person's teams have lists, the address must be
  in one of those lists (a lease got from a job's place is answered by its assignment).
An empty list removes the restriction. Lists are read by every app process within
`SETTINGS_TTL` seconds of a change (`truthset.workforce.ip_guard` enforces them).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from truthset.audit.addresses import (
    SETTINGS_TTL,
    TRUSTED_PROXIES,
    Network,
    forget_settings,
    parse_address,
    parse_networks,
    within,
)
from truthset.errors import BadInput
from truthset.store.models import TeamSourceIp, WorkforceSetting
from truthset.workforce import repository
from truthset.workforce.service import get_team

SOURCE_IP = "source_ip"
MAX_CIDRS = 100
RESTRICTED_ROLES = frozenset({"worker", "reviewer"})


def _checked(field: str, cidrs: Any) -> list[str]:
    networks = parse_networks(field, cidrs)
    if len(networks) > MAX_CIDRS:
        raise BadInput(f"{field} may hold at most {MAX_CIDRS} CIDRs, not {len(networks)}")
    return list(dict.fromkeys(str(n) for n in networks))


def _put_setting(session: Session, name: str, value: list[str], now: float) -> None:
    row = repository.workforce_setting(session, name)
    if row is None:
        session.add(WorkforceSetting(name=name, value=value, updated_at=now))
    else:
        row.value, row.updated_at = value, now
    session.flush()


def set_workforce_cidrs(session: Session, cidrs: Any, *, now: float | None = None) -> list[str]:
    """The workforce's list (normalised: '10.0.0.7/8' is 10.0.0.0/8); [] lifts it."""
    checked = _checked("cidrs", cidrs)
    _put_setting(session, SOURCE_IP, checked, time.time() if now is None else now)
    forget()
    return checked


def set_trusted_proxies(session: Session, cidrs: Any, *, now: float | None = None) -> list[str]:
    checked = _checked("trusted_proxies", cidrs)
    for cidr in checked:
        if cidr.endswith("/0"):
            # Every client would be a trusted proxy and could name its own address.
            raise BadInput(
                f"trusted_proxies must name the proxies, not {cidr} (every address): any "
                "client could then write its own X-Forwarded-For past the allow-lists"
            )
    _put_setting(session, TRUSTED_PROXIES, checked, time.time() if now is None else now)
    forget()
    return checked


def set_team_cidrs(
    session: Session, team_name: str, cidrs: Any, *, now: float | None = None
) -> list[str]:
    team = get_team(session, team_name)
    checked = _checked("cidrs", cidrs)
    row = repository.team_source_ip(session, team.id)
    if not checked:
        if row is not None:
            session.delete(row)
    elif row is None:
        session.add(
            TeamSourceIp(
                team_id=team.id, cidrs=checked, updated_at=time.time() if now is None else now
            )
        )
    else:
        row.cidrs, row.updated_at = checked, time.time() if now is None else now
    session.flush()
    forget()
    return checked


def _setting(session: Session, name: str) -> list[str]:
    row = repository.workforce_setting(session, name)
    return list(row.value) if row is not None else []


def describe(session: Session) -> dict[str, Any]:
    return {
        "cidrs": _setting(session, SOURCE_IP),
        "trusted_proxies": _setting(session, TRUSTED_PROXIES),
        "teams": dict(repository.team_source_ips(session)),
    }


def team_cidrs(session: Session, team_name: str) -> list[str]:
    row = repository.team_source_ip(session, get_team(session, team_name).id)
    return list(row.cidrs) if row is not None else []


# -- checking a request ------------------------------------------------------------------


@dataclass(frozen=True)
class _Lists:
    workforce: list[Network]
    any_team: bool


_lists: dict[int, tuple[float, _Lists]] = {}
_people: dict[tuple[int, int], tuple[float, list[tuple[str, list[Network]]]]] = {}
_through: dict[tuple[int, int, str], tuple[float, list[tuple[str, list[Network] | None]]]] = {}
_lock = threading.Lock()


def forget() -> None:
    """Drop what this process cached (after a change here; others re-read within
    SETTINGS_TTL)."""
    with _lock:
        _lists.clear()
        _people.clear()
        _through.clear()
    forget_settings()


def cached_lists(db: Any) -> _Lists | None:
    with _lock:
        found = _lists.get(id(db))
    return found[1] if found is not None and found[0] > time.monotonic() else None


def read_lists(db: Any) -> _Lists:
    expires = time.monotonic() + SETTINGS_TTL
    with db.session_scope(write=False) as session:
        lists = _Lists(
            workforce=parse_networks("cidrs", _setting(session, SOURCE_IP)),
            any_team=repository.any_team_source_ip(session),
        )
    with _lock:
        _lists[id(db)] = (expires, lists)
    return lists


def cached_teams_of(db: Any, user_id: int) -> list[tuple[str, list[Network]]] | None:
    with _lock:
        found = _people.get((id(db), user_id))
    return found[1] if found is not None and found[0] > time.monotonic() else None


def teams_of(db: Any, user_id: int) -> list[tuple[str, list[Network]]]:
    """The user's teams that have lists (cached per user for SETTINGS_TTL)."""
    key = (id(db), user_id)
    now = time.monotonic()
    with db.session_scope(write=False) as session:
        teams = [
            (name, parse_networks("cidrs", cidrs))
            for name, cidrs in repository.restricted_teams_of_user(session, user_id)
        ]
    with _lock:
        _people[key] = (now + SETTINGS_TTL, teams)
    return teams


def cached_job_teams_of(
    db: Any, user_id: int, job_name: str
) -> list[tuple[str, list[Network] | None]] | None:
    with _lock:
        found = _through.get((id(db), user_id, job_name))
    return found[1] if found is not None and found[0] > time.monotonic() else None


def job_teams_of(db: Any, user_id: int, job_name: str) -> list[tuple[str, list[Network] | None]]:
    """The teams through which the user works on the job, with their lists or None
    (cached per user and job for SETTINGS_TTL)."""
    key = (id(db), user_id, job_name)
    now = time.monotonic()
    with db.session_scope(write=False) as session:
        teams = [
            (name, None if cidrs is None else parse_networks("cidrs", cidrs))
            for name, cidrs in repository.job_teams_of_user(session, job_name, user_id)
        ]
    with _lock:
        if len(_through) > 10_000:
            _through.clear()
        _through[key] = (now + SETTINGS_TTL, teams)
    return teams


def job_refusal(
    address: str | None,
    lists: _Lists,
    through: list[tuple[str, list[Network] | None]],
    teams: list[tuple[str, list[Network]]],
    job_name: str,
) -> str | None:
    """Why a worker's request about the job from `address` is refused, or None. `through`:
    the teams they work on it through; none (not in the job's teams: the route answers
    for that) falls back to the person's rule with their restricted `teams`."""
    if not through:
        return refusal(address, lists, teams)
    held = [(name, nets) for name, nets in through if nets is not None]
    if len(held) < len(through):  # a team of the job without a list: not held by teams
        return refusal(address, lists, [])
    why = refusal(address, lists, [])
    if why is not None:
        return why
    parsed = parse_address(address)
    if parsed is None or not any(within(parsed, nets) for _, nets in held):
        names = ", ".join(repr(name) for name, _ in held)
        return (
            f"requests from {address or 'an unknown address'} are not allowed for job "
            f"{job_name!r}: the allowed source IP ranges of your team"
            f"{'s' if len(held) > 1 else ''} {names} on it do not include it (ask an admin)"
        )
    return None


def refusal(
    address: str | None, lists: _Lists, teams: list[tuple[str, list[Network]]]
) -> str | None:
    """Why a worker's request from `address` is refused, or None when it may go on."""
    parsed = parse_address(address)
    shown = address or "an unknown address"
    if lists.workforce and (parsed is None or not within(parsed, lists.workforce)):
        return (
            f"requests from {shown} are not allowed: the workforce may work only from its "
            "allowed source IP ranges (ask an admin)"
        )
    if teams and (parsed is None or not any(within(parsed, nets) for _, nets in teams)):
        names = ", ".join(repr(name) for name, _ in teams)
        return (
            f"requests from {shown} are not allowed: the allowed source IP ranges of your "
            f"team{'s' if len(teams) > 1 else ''} {names} do not include it (ask an admin)"
        )
    return None
