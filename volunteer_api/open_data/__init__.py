"""Open data for the public: the OC4IDS export of every site, the public summary and /transparency."""
