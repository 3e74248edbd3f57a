from django.urls import path

from . import views

app_name = "tasks"

urlpatterns = [
    path("", views.task_list, name="list"),
    path("new/", views.task_create, name="create"),
    path("toggle-all/", views.task_toggle_all, name="toggle-all"),
    path("clear-completed/", views.task_clear_completed, name="clear-completed"),
    path("restore/", views.task_restore, name="restore"),
    path("trash/", views.trash, name="trash"),
    path("trash/empty/", views.trash_empty, name="trash-empty"),
    path("<int:pk>/", views.task_detail, name="detail"),
    path("<int:pk>/edit/", views.task_update, name="update"),
    path("<int:pk>/toggle/", views.task_toggle, name="toggle"),
    path("<int:pk>/delete/", views.task_delete, name="delete"),
]

# Mounted at /lists/ (todoproject/urls.py).
list_patterns = (
    [
        path("", views.lists, name="index"),
        path("<int:pk>/delete/", views.list_delete, name="delete"),
    ],
    "lists",
)
