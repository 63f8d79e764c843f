from django.apps import AppConfig


class ZtpConfig(AppConfig):
    name = "ztp"
