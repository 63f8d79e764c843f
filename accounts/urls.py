from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("login", views.LoginView.as_view(), name="login"),
    path("logout", views.LogoutView.as_view(), name="logout"),
    path("password-reset", views.PasswordResetView.as_view(), name="password_reset"),
    path("password-reset/sent", views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password-reset/<uidb64>/<token>",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password-reset/complete",
        views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("system/users/", views.UserListView.as_view(), name="user_list"),
    path("system/users/add", views.UserCreateView.as_view(), name="user_add"),
    path("system/users/<int:pk>/edit", views.UserUpdateView.as_view(), name="user_edit"),
    path("system/users/<int:pk>/delete", views.UserDeleteView.as_view(), name="user_delete"),
    path("customer/switch", views.CustomerSwitchView.as_view(), name="customer_switch"),
    # The customer page itself (ztp:customer_detail) is mounted by config/urls.py.
    path(
        "system/customer/settings", views.CustomerSettingsView.as_view(), name="customer_settings"
    ),
]
