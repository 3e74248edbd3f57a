from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from accounts.calendar import feed as calendar_feed
from tasks.api import api
from tasks.urls import list_patterns
from todoproject import views

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="tasks:list"), name="home"),
    path("tasks/", include("tasks.urls")),
    path("lists/", include(list_patterns)),
    path("accounts/", include("accounts.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("health/db", views.health_db, name="health-db"),
    # The token is a secret: the request log leaves out a parameter so named.
    path("calendar/<str:token>.ics", calendar_feed, name="calendar-feed"),
]

handler400 = views.bad_request
handler403 = views.permission_denied
handler404 = views.page_not_found
handler500 = views.server_error
