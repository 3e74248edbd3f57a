from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth import get_user_model
from django.shortcuts import render

from .models import Task


class TransferForm(forms.Form):
    new_owner = forms.ModelChoiceField(
        queryset=get_user_model().objects.order_by("username"), label="New owner"
    )


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ["title", "user", "completed", "created_at", "updated_at"]
    list_filter = ["completed", ("user", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["title"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]
    readonly_fields = ["created_at", "updated_at"]
    actions = ["mark_complete", "mark_incomplete", "transfer"]

    def get_queryset(self, request):
        # The admin is one of the two places allowed to see every user's rows.
        return Task.unscoped.get_queryset().select_related("user")

    @admin.action(description="Mark selected tasks as complete", permissions=["change"])
    def mark_complete(self, request, queryset):
        count = queryset.complete()
        self.message_user(request, f"Marked {count} task(s) complete.")

    @admin.action(
        description="Mark selected tasks as incomplete", permissions=["change"]
    )
    def mark_incomplete(self, request, queryset):
        count = queryset.reopen()
        self.message_user(request, f"Marked {count} task(s) incomplete.")

    @admin.action(
        description="Transfer selected tasks to another user", permissions=["change"]
    )
    def transfer(self, request, queryset):
        form = TransferForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            count = queryset.transfer_to(form.cleaned_data["new_owner"])
            self.message_user(
                request,
                f"Transferred {count} task(s) to {form.cleaned_data['new_owner']}.",
                messages.SUCCESS,
            )
            return None
        return render(
            request,
            "admin/tasks/task/transfer.html",
            {
                **self.admin_site.each_context(request),
                "title": "Transfer tasks",
                "opts": self.model._meta,
                "form": form,
                "tasks": queryset,
                "action_checkbox_name": ACTION_CHECKBOX_NAME,
            },
        )
