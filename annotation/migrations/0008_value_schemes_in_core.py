"""Value schemes move to core (contracts.md: Layout). State only: the tables keep their names."""

import django.db.models.deletion
from django.db import migrations, models

MOVED = ("valuescheme", "valuedimension")


def _move_content_types(apps, source: str, target: str) -> None:
    # Admin history and permissions follow the models; a type the target already has wins.
    content_type = apps.get_model("contenttypes", "ContentType")
    for model in MOVED:
        old = content_type.objects.filter(app_label=source, model=model).first()
        if old is None:
            continue
        if content_type.objects.filter(app_label=target, model=model).exists():
            old.delete()
        else:
            old.app_label = target
            old.save(update_fields=["app_label"])


def content_types_to_core(apps, schema_editor) -> None:
    _move_content_types(apps, "annotation", "core")


def content_types_to_annotation(apps, schema_editor) -> None:
    _move_content_types(apps, "core", "annotation")


class Migration(migrations.Migration):

    dependencies = [
        ('annotation', '0007_worker_first_slot_constraint'),
        ('core', '0002_value_schemes_in_core'),
        ('contenttypes', '0002_remove_content_type_name'),
    ]

    state_operations = [
        migrations.AlterField(
            model_name='project',
            name='scheme',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='projects', to='core.valuescheme'),
        ),
        migrations.DeleteModel(
            name='ValueDimension',
        ),
        migrations.DeleteModel(
            name='ValueScheme',
        ),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=state_operations, database_operations=[]),
        migrations.RunPython(content_types_to_core, content_types_to_annotation),
    ]
