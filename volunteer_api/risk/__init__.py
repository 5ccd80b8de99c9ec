"""The corruption risk of each site: likelihood × impact on the Agency's 1–5 scales."""
