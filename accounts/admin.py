from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from accounts.models import Customer, User
from provisioning.services import customer_defaults_create


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "contact_name", "contact_email", "is_active", "created"]
    list_filter = ["is_active"]
    search_fields = ["name", "slug", "contact_name", "contact_email"]
    prepopulated_fields = {"slug": ["name"]}

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:
            customer_defaults_create(customer=obj)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "name", "email", "customer", "role", "is_staff", "is_active"]
    list_filter = ["role", "is_staff", "is_active", "customer"]
    search_fields = ["username", "name", "email", "customer__name"]
    ordering = ["username"]
    fieldsets = [
        (None, {"fields": ["username", "password"]}),
        ("Portal", {"fields": ["name", "email", "customer", "role"]}),
        ("Support access", {"fields": ["is_active", "is_staff", "is_superuser"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"fields": ["username", "email", "customer", "role", "password1", "password2"]}),
    ]
