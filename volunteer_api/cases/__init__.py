"""Cases: what became of a confirmed inspection (its referral and resolution), and the fix rate."""
