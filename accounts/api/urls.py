from django.urls import path
from rest_framework.routers import SimpleRouter

from accounts.api import views

router = SimpleRouter(trailing_slash=False)
router.register("users", views.PortalUserViewSet, basename="user")

api_urlpatterns = [
    path("auth/admin", views.AdminLoginView.as_view(), name="auth_login"),
    path("auth/refresh", views.RefreshView.as_view(), name="auth_refresh"),
    path("auth/logout", views.LogoutView.as_view(), name="auth_logout"),
    path("me", views.MeView.as_view(), name="me"),
    *router.urls,
]
