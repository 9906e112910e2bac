app_name = "elicitation"

urlpatterns: list = []
