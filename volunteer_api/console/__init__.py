"""The web console at /console/: the screens inspectors and administrators work in.

Thin server-rendered pages (Jinja + htmx) over the same service functions the API calls: no business
rule lives here. Sign-in opens the same kind of session as the API's tokens (auth.services), carried in
a cookie that only /console/ receives.
"""
