"""Verifying the chain incrementally: a signed verification result, and the tail since it.

Walking the whole chain costs ~40 s per million events, past any request's time. So each verification
is stored, signed with AUDIT_KEY (`AuditVerification.mac`), with how far it reached (`through_seq`) and
the hash it found there; the next one checks that signature and that hash, then walks only the events
sealed since (`GET /audit/verify`, and the periodic sweep so the tail stays short between calls).

- A full re-verification from seq 1 is a job an admin starts (`POST /audit/verifications`): it runs in
  the workers through the outbox, and its signed result is shown like any other.
- A failure sticks: until a full verification passes after it, every answer repeats it, so an edit once
  seen cannot be verified over by the next tail.
- A verification row whose signature does not verify (forged or edited by a database writer without the
  key, its status included: a running progress flipped to done, a failure flipped back to running) is
  refused: the answer is `ok: false, reason: bad_checkpoint` until a full verification passes after it
  (it is never a place to start from). Rows signed before the status was signed still verify, as
  finished results only (status done, ok set).

What the fast path cannot see: an edit of an event below the stored verification made after it ran
(its hash is not recomputed); the full job sees it. Verification rows deleted by a database writer only
make the next answer slower (it starts from an older one, or walks the chain from seq 1).
"""
import hmac
import logging

from sqlalchemy import select

from ..database import db
from ..errors import NotFound
from ..jobs import enqueue, names
from ..timestamps import utcnow
from . import checkpoints
from .models import AuditEvent, AuditVerification
from .services import _canonical_time, keyed_digest, seal_chain, verify_chain

log = logging.getLogger(__name__)

# The finished verifications looked at for a start, a standing failure and a forged row.
RECENT = 20
# Events one step of the full verification job walks (~4 s on a quiet machine, ~90 s on a loaded one:
# far below the workers' time limit).
FULL_VERIFICATION_STEP = 100_000


def verification_document(verification: AuditVerification) -> dict:
    """A verification as it is signed: what it checked, how far, what it found, when, and whether it finished."""
    return {**_document_before_status(verification), "status": verification.status}


def _document_before_status(verification: AuditVerification) -> dict:
    """What rows signed before the status was part of the document signed."""
    return {
        "id": str(verification.id), "kind": verification.kind, "from_seq": verification.from_seq,
        "through_seq": verification.through_seq, "head_id": verification.head_id,
        "head_hash": verification.head_hash, "ok": verification.ok, "checked": verification.checked,
        "first_broken_id": verification.first_broken_id, "reason": verification.reason,
        "started_at": _canonical_time(verification.started_at),
        "finished_at": _canonical_time(verification.finished_at) if verification.finished_at else None,
    }


def signature_verifies(verification: AuditVerification) -> bool:
    """Whether the row is as AUDIT_KEY signed it (a database writer without the key can forge none)."""
    if verification.mac is None:
        return False
    if hmac.compare_digest(verification.mac, keyed_digest(verification_document(verification))):
        return True
    # A row signed before the status was signed stays verifiable only as a finished result (ok set): a
    # progress flipped to done has ok None, a result flipped to running is not done, both stay refused.
    return (verification.status == "done" and verification.ok is not None
            and hmac.compare_digest(verification.mac, keyed_digest(_document_before_status(verification))))


def _finish(verification: AuditVerification, result: dict) -> None:
    """Record a walk's result on the verification and sign it (the caller commits)."""
    verification.ok = result["ok"]
    verification.first_broken_id = result.get("first_broken_id")
    verification.reason = result.get("reason")
    # Intact from seq 1 through here: the stored part below from_seq, and what this walk checked.
    verification.through_seq = verification.checked = verification.from_seq + result["checked"]
    head = db.session.execute(select(AuditEvent.id, AuditEvent.hash)
                              .where(AuditEvent.seq == verification.through_seq)).first()
    verification.head_id = str(head.id) if head else None
    verification.head_hash = head.hash if head else None
    verification.status, verification.finished_at = "done", utcnow()
    db.session.flush()  # the id is signed
    verification.mac = keyed_digest(verification_document(verification))


def _recent() -> list[AuditVerification]:
    """The newest finished verifications and the running ones with signed progress, newest first.

    The running ones are looked at too, so a finished result whose status a database writer set back to
    running (to drop a failure out of this list) is seen, its signature failing.
    """
    done = db.session.scalars(
        select(AuditVerification).where(AuditVerification.status == "done")
        .order_by(AuditVerification.finished_at.desc(), AuditVerification.id.desc()).limit(RECENT))
    running = db.session.scalars(
        select(AuditVerification).where(AuditVerification.status == "running", AuditVerification.mac.is_not(None))
        .order_by(AuditVerification.id.desc()).limit(RECENT))
    return sorted([*done, *running], key=lambda v: (v.finished_at or v.started_at, v.id), reverse=True)[:RECENT]


def newest_finished_verification() -> AuditVerification | None:
    """The verification that finished last (full or incremental), through ix_audit_verifications_status_finished_at."""
    return db.session.scalars(
        select(AuditVerification).where(AuditVerification.status == "done")
        .order_by(AuditVerification.finished_at.desc(), AuditVerification.id.desc()).limit(1)).first()


def newest_full_verification() -> AuditVerification | None:
    return db.session.scalars(
        select(AuditVerification).where(AuditVerification.kind == "full")
        .order_by(AuditVerification.id.desc()).limit(1)).first()


def verification_summary(verification: AuditVerification | None) -> dict | None:
    """A verification as the API shows it (None when there is none)."""
    if verification is None:
        return None
    summary = {"id": str(verification.id), "kind": verification.kind, "status": verification.status,
               "started_at": verification.started_at, "finished_at": verification.finished_at}
    if verification.status == "done":
        summary.update(ok=verification.ok, checked=verification.checked, verified_through=verification.through_seq,
                       signed=signature_verifies(verification))
        if not verification.ok:
            summary.update(first_broken_id=verification.first_broken_id, reason=verification.reason)
    return summary


def _answer(verification: AuditVerification, *, tail_checked: int, unsealed: int | None, as_of=None) -> dict:
    """The endpoint's answer from a (new or stored) verification: the contract's fields first."""
    if verification.ok:
        answer = {"ok": True, "checked": verification.checked}
        if unsealed is not None:
            answer["unsealed"] = unsealed
    else:
        answer = {"ok": False, "first_broken_id": verification.first_broken_id, "checked": verification.checked,
                  "reason": verification.reason}
    return {**answer, "verified_through": verification.through_seq, "tail_checked": tail_checked,
            "as_of": as_of or verification.finished_at, "verification_id": str(verification.id),
            "full_verification": verification_summary(newest_full_verification())}


def _standing(recent: list[AuditVerification]):
    """(a forged verification, a failure, the newest intact place to start), from the newest verifications.

    Looking back stops at the newest full verification that passed: it proved the chain from seq 1
    without any older verification, so an older failure or forged row no longer stands.
    """
    forged = failure = None
    for verification in recent:  # newest first
        if not signature_verifies(verification):
            forged = forged or verification
            continue
        if verification.ok is None:  # a full verification's signed progress: not a result yet
            continue
        if not verification.ok:
            failure = failure or verification
        elif verification.kind == "full":
            break
    base = max((v for v in recent if v.ok and signature_verifies(v)), key=lambda v: v.through_seq, default=None)
    return forged, failure, base


def verify_audit_chain() -> dict:
    """What GET /audit/verify answers: the stored, signed verification plus the tail sealed since (commits)."""
    seal_chain()
    forged, failure, base = _standing(_recent())
    if forged is not None:
        log.error("audit verification %s has a bad signature: refused", forged.id,
                  extra={"audit_verification_id": str(forged.id)})
        answer = {"ok": False, "checked": 0, "reason": "bad_checkpoint", "forged_verification_id": str(forged.id),
                  "full_verification": verification_summary(newest_full_verification())}
    elif failure is not None:
        answer = _answer(failure, tail_checked=0, unsealed=None)
    else:
        return advance(base)
    db.session.rollback()
    return answer


def advance(base: AuditVerification | None) -> dict:
    """Verify the tail after `base` (from seq 1 without one), store the signed result and answer it (commits)."""
    start = None
    if base is not None:
        start = {"seq": base.through_seq, "head_id": base.head_id, "head_hash": base.head_hash}
    result = verify_chain(anchor=checkpoints.newest_anchor(), start=start)
    if base is not None and result["ok"] and result["checked"] == 0:
        # Nothing sealed since: the stored verification still says it all, as of now.
        answer = _answer(base, tail_checked=0, unsealed=result["unsealed"], as_of=utcnow())
        db.session.rollback()
        return answer
    verification = AuditVerification(kind="incremental" if base is not None else "full",
                                     from_seq=base.through_seq if base is not None else 0, started_at=utcnow())
    db.session.add(verification)
    _finish(verification, {"first_broken_id": None, **result})
    answer = _answer(verification, tail_checked=result["checked"], unsealed=result.get("unsealed"))
    db.session.commit()
    if not result["ok"]:
        log.error("audit chain verification %s: %s at event %s", verification.id, result.get("reason"),
                  result.get("first_broken_id"), extra={"audit_verification_id": str(verification.id)})
    return answer


def verify_tail_scheduled() -> dict | None:
    """The sweep: keep the unverified tail short between calls, so GET /audit/verify walks little.

    Nothing while a forged verification or a failure stands (they wait for an admin); with no verification
    at all, the first one walks the whole chain here in the workers rather than in a request.
    """
    seal_chain()
    forged, failure, base = _standing(_recent())
    if forged is not None or failure is not None:
        db.session.rollback()
        return None
    return advance(base)


def start_full_verification(*, requested_by_id: int | None) -> AuditVerification:
    """Record a full verification as running and enqueue its job (commits)."""
    verification = AuditVerification(kind="full", status="running", from_seq=0, requested_by_id=requested_by_id,
                                     started_at=utcnow())
    db.session.add(verification)
    db.session.flush()
    enqueue(names.VERIFY_AUDIT_CHAIN, verification_id=verification.id)
    db.session.commit()
    return verification


def run_full_verification(*, verification_id: int) -> str:
    """The job: walk the chain from seq 1 in steps of FULL_VERIFICATION_STEP events, then sign the result.

    Each step signs its progress (how far, the hash there) on the running verification and enqueues the
    next step, so no run comes near the workers' time limit however long the chain; a step starts where a
    signed progress says (a progress whose signature fails is not trusted: the walk starts again at seq 1).
    """
    verification = db.session.get(AuditVerification, verification_id)
    if verification is None or verification.status == "done":
        return "skipped"
    done_so_far, start = 0, None
    if verification.through_seq:
        if signature_verifies(verification):
            done_so_far = verification.through_seq
            start = {"seq": done_so_far, "head_id": verification.head_id, "head_hash": verification.head_hash}
        else:
            log.error("audit verification %s: its progress has a bad signature; starting again at seq 1",
                      verification.id)
    # No sealing here: it commits, and the job's row and its result commit together (run_job). The
    # sealer's sweep runs every few seconds; the walk covers what is sealed when it gets there.
    result = verify_chain(anchor=checkpoints.newest_anchor(), start=start, max_events=FULL_VERIFICATION_STEP)
    if result.get("partial"):
        verification.through_seq = verification.checked = done_so_far + result["checked"]
        head = db.session.execute(select(AuditEvent.id, AuditEvent.hash)
                                  .where(AuditEvent.seq == verification.through_seq)).one()
        verification.head_id, verification.head_hash = str(head.id), head.hash
        verification.mac = keyed_digest(verification_document(verification))
        enqueue(names.VERIFY_AUDIT_CHAIN, verification_id=verification.id)
        return "continued"
    _finish(verification, {"first_broken_id": None, **result, "checked": done_so_far + result["checked"]})
    log.log(logging.INFO if result["ok"] else logging.ERROR, "audit chain full verification %s: %s",
            verification.id, "ok" if result["ok"] else result.get("reason"),
            extra={"audit_verification_id": str(verification.id)})
    return "done"


def get_verification(verification_id: int) -> AuditVerification:
    verification = db.session.get(AuditVerification, verification_id)
    if verification is None:
        raise NotFound()
    return verification
