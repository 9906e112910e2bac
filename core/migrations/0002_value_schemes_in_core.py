"""Value schemes move to core (contracts.md: Layout). State only: the tables keep their names."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0001_initial'),
        ('annotation', '0007_worker_first_slot_constraint'),
    ]

    state_operations = [
        migrations.CreateModel(
            name='ValueScheme',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('key', models.SlugField(help_text='e.g. schwartz10', max_length=64, unique=True)),
                ('name', models.CharField(max_length=200)),
                ('description', models.TextField(blank=True)),
                ('created', models.DateTimeField(auto_now_add=True)),
            ],
            options={
                'db_table': 'annotation_valuescheme',
                'ordering': ['key'],
            },
        ),
        migrations.CreateModel(
            name='ValueDimension',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('key', models.SlugField(help_text='Lower case with underscores, e.g. power.', max_length=64)),
                ('name', models.CharField(max_length=200)),
                ('definition', models.TextField(help_text='Shown to annotators next to the dimension.')),
                ('examples', models.JSONField(blank=True, default=list, help_text='Short examples, a list.')),
                ('position', models.PositiveIntegerField(default=0, help_text="Place in the scheme's order.")),
                ('scheme', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='dimensions', to='core.valuescheme')),
            ],
            options={
                'db_table': 'annotation_valuedimension',
                'ordering': ['scheme', 'position', 'pk'],
                'constraints': [models.UniqueConstraint(fields=('scheme', 'key'), name='one_dimension_key_per_scheme')],
            },
        ),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=state_operations, database_operations=[])
    ]
