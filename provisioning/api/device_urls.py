from django.urls import path

from provisioning.api import device

# Mounted at /device/api/v1/; devices post to these exact paths.
device_urlpatterns = [
    path("bootstrap", device.BootstrapView.as_view(), name="bootstrap"),
    path("license", device.LicenseView.as_view(), name="license"),
    path("checkin", device.CheckinView.as_view(), name="checkin"),
    path("code", device.CodeView.as_view(), name="code"),
    path("auto", device.AutoView.as_view(), name="auto"),
]
