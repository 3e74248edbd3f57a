from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth import get_user_model
from django.db.models import Count, Q
from django.shortcuts import render

from .models import Task, TaskList


class TransferForm(forms.Form):
    new_owner = forms.ModelChoiceField(
        queryset=get_user_model().objects.order_by("username"), label="New owner"
    )


class TaskAdminForm(forms.ModelForm):
    def clean(self):
        cleaned_data = super().clean()
        owner, task_list = cleaned_data.get("user"), cleaned_data.get("list")
        if owner and task_list and task_list.user_id != owner.pk:
            self.add_error("list", "Choose one of the owner's lists.")
        return cleaned_data


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    form = TaskAdminForm
    list_display = [
        "title",
        "user",
        "list",
        "completed",
        "due_date",
        "recurrence",
        "created_at",
        "updated_at",
    ]
    list_filter = [
        "completed",
        "due_date",
        ("user", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["title", "user__username"]
    list_select_related = ["user", "list"]
    raw_id_fields = ["user"]
    readonly_fields = ["created_at", "updated_at"]
    actions = ["mark_complete", "mark_incomplete", "transfer"]

    def get_queryset(self, request):
        # The admin is one of the two places allowed to see every user's rows.
        return Task.unscoped.get_queryset().select_related("user", "list")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "list":
            # By id: a menu would hold every user's lists, and the raw-id
            # widget looks its label up through the scoped manager.
            kwargs["queryset"] = TaskList.unscoped.get_queryset()
            kwargs["widget"] = forms.NumberInput
            kwargs["help_text"] = "The id of one of the owner's lists."
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

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


@admin.register(TaskList)
class TaskListAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "is_inbox", "task_count", "active_count"]
    list_filter = ["is_inbox"]
    search_fields = ["name", "user__username"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]
    readonly_fields = ["is_inbox", "created_at"]

    def get_queryset(self, request):
        return (
            TaskList.unscoped.get_queryset()
            .select_related("user")
            .annotate(
                task_count=Count("tasks", filter=Q(tasks__deleted_at__isnull=True)),
                active_count=Count(
                    "tasks",
                    filter=Q(tasks__deleted_at__isnull=True, tasks__completed=False),
                ),
            )
        )

    def get_readonly_fields(self, request, obj=None):
        # A list keeps its owner: its tasks are that owner's.
        if obj is not None:
            return [*self.readonly_fields, "user"]
        return self.readonly_fields

    def has_delete_permission(self, request, obj=None):
        # The site deletes a list by moving its tasks to the trash first
        # (/lists/<id>/delete/); the Inbox is never deleted.
        return False

    @admin.display(description="Tasks", ordering="task_count")
    def task_count(self, task_list):
        return task_list.task_count

    @admin.display(description="Active", ordering="active_count")
    def active_count(self, task_list):
        return task_list.active_count
