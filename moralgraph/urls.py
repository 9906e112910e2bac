app_name = "moralgraph"

urlpatterns: list = []
