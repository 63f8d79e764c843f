from django.core.management.base import BaseCommand

from phones.services.codes import expired_codes_delete


class Command(BaseCommand):
    help = "Delete provisioning codes that expired unused (the job that runs every 5 minutes)."

    def handle(self, *args, **options):
        self.stdout.write(f"{expired_codes_delete()} expired provisioning code(s) deleted.")
