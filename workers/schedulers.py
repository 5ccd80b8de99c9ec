"""The beat's scheduler: RedBeat (one leader among the beats of every host, by a lock in Redis) that
outlives a Redis outage instead of exiting with it.

RedBeat alone takes its lock once at start (blocking) and lets any Redis error in a tick end the beat
process (sibson/redbeat#285); a beat embedded in a worker (`worker --beat`) is then never restarted, and
with no beat nothing relays the outbox jobs filed while Redis was down. Here a tick that finds Redis
gone waits and tries again; the beat leads again only once it holds the lock (its own, still, or a new
one when the lock expired or Redis restarted empty), restoring the schedule's entries a restarted Redis
lost (their last runs are kept when Redis kept them).
"""
import logging

from redbeat.schedulers import LUA_EXTEND_TO_SCRIPT, RedBeatScheduler, get_redis

log = logging.getLogger(__name__)


class LeaderScheduler(RedBeatScheduler):
    _leading = False  # set once this beat, holding the lock, has (re)installed the schedule

    def tick(self, min=min, **kwargs):
        try:
            if self.lock_key and not self._leads():
                return self.max_interval
            return super().tick(min=min, **kwargs)
        except Exception as exc:  # noqa: BLE001 - Redis down or the lock lost: lead again when it is back
            self._leading = False
            log.warning("beat: no tick (%r); trying again in %s s", exc, self.max_interval)
            return self.max_interval

    def _leads(self) -> bool:
        """Whether this beat holds the lock, taking it when it is free (never waiting for it)."""
        if self.lock is None or not self.lock.owned():
            # Not holding the lock (any more) is a new leadership: a Redis restarted empty between two ticks
            # lost the lock *and* the schedule's entries without any tick failing to tell (the outage fell
            # between two ticks, under beat_max_loop_interval): the schedule is installed again.
            self._leading = False
            redis = get_redis(self.app)
            lock = redis.lock(self.lock_key, timeout=self.lock_timeout, sleep=self.max_interval)
            lock.lua_extend = redis.register_script(LUA_EXTEND_TO_SCRIPT)  # extend *to* the timeout, as RedBeat
            self.lock = lock if lock.acquire(blocking=False) else None
            if self.lock is None:
                self._leading = False
                return False
        if not self._leading:
            self.setup_schedule()  # a Redis restarted empty lost the entries (kept ones keep their last runs)
            self._leading = True
            log.info("beat: this beat leads (it holds the lock)")
        return True

    def close(self):
        try:
            super().close()
        except Exception as exc:  # noqa: BLE001 - Redis gone at shutdown: the lock expires by itself
            log.warning("beat: could not release the lock (%r); it expires in %s s", exc, self.lock_timeout)
