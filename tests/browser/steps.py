"""Steps the browser tests share."""

PASSWORD = "correct horse battery staple"  # every UserFactory user's


def sign_in(page, base_url: str, username: str = "rita") -> None:
    """Sign ``username`` in on the login page."""
    page.goto(f"{base_url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
