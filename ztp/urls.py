from django.urls import path

from ztp import views

app_name = "ztp"

urlpatterns = [
    # System > Customer: the acting customer and its ZTP card.
    path("system/customer/", views.CustomerDetailView.as_view(), name="customer_detail"),
    path(
        "system/customer/ztp/actions/<str:vendor>/<str:name>",
        views.ZtpActionView.as_view(),
        name="action",
    ),
    path("system/customer/ztp/phones/", views.ZtpPhoneListView.as_view(), name="phone_list"),
    path("system/customer/ztp/phones/add", views.ZtpPhoneAddView.as_view(), name="phone_add"),
    path(
        "system/customer/ztp/phones/lookup",
        views.ZtpPhoneLookupView.as_view(),
        name="phone_lookup",
    ),
    path("system/customer/ztp/phones/bulk", views.ZtpPhoneBulkView.as_view(), name="phone_bulk"),
]
