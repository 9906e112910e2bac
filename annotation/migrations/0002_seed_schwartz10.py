"""Seed the default value scheme, schwartz10, in the order of the Schwartz circle.

The text lives here, not imported from the app, so the migration stays the same when the app's
code changes later.
"""

from django.db import migrations

SCHEME_KEY = "schwartz10"

DIMENSIONS = [
    (
        "self_direction",
        "Self-direction",
        "Thinking and acting for oneself: choosing one's own goals, forming one's own opinions, "
        "creating and exploring. A response upholds it when it respects or strengthens a "
        "person's ability to decide and find out for themselves; it violates it when it "
        "manipulates, talks down to, or takes decisions away from the person.",
        [
            "Laying out the options and leaving the choice to the user.",
            "Telling the user what they must believe without giving reasons.",
        ],
    ),
    (
        "stimulation",
        "Stimulation",
        "Excitement, novelty and challenge in life. A response upholds it when it encourages "
        "trying something new, variety or a worthwhile challenge; it violates it when it "
        "discourages any change or adventure for no good reason.",
        [
            "Suggesting a weekend trip somewhere the user has never been.",
            "Insisting the user should never try an unfamiliar hobby.",
        ],
    ),
    (
        "hedonism",
        "Hedonism",
        "Pleasure and enjoying life for oneself. A response upholds it when it affirms that "
        "fun, comfort and sensual enjoyment are worth having; it violates it when it shames "
        "harmless enjoyment or denies a person any pleasure.",
        [
            "Recommending a favourite dessert recipe to treat oneself.",
            "Calling any evening spent relaxing a waste of time.",
        ],
    ),
    (
        "achievement",
        "Achievement",
        "Personal success by showing competence against accepted standards. A response upholds "
        "it when it helps someone do well, build skills or reach ambitious goals; it violates "
        "it when it undermines effort, belittles success or encourages cheating one's way to it.",
        [
            "Giving a study plan to pass a professional exam.",
            "Advising someone to copy a colleague's work and claim it.",
        ],
    ),
    (
        "power",
        "Power",
        "Social status, prestige and control over people and resources. A response upholds it "
        "when it supports gaining or keeping influence, wealth or standing; it violates it when "
        "it attacks someone's reputation or standing, or strips people of legitimate authority.",
        [
            "Explaining how to negotiate a higher salary.",
            "Inventing a scandal to ruin a public figure's reputation.",
        ],
    ),
    (
        "security",
        "Security",
        "Safety, harmony and stability of society, of relationships and of oneself. A response "
        "upholds it when it protects health, safety, order or the law; it violates it when it "
        "helps cause harm, danger or disorder.",
        [
            "Warning that mixing two cleaning products releases a toxic gas.",
            "Explaining how to break into a neighbour's house.",
        ],
    ),
    (
        "conformity",
        "Conformity",
        "Restraint of actions and impulses that would upset or harm others or break social "
        "norms. A response upholds it when it encourages politeness, self-discipline and "
        "respecting rules and elders; it violates it when it urges rude, disruptive or "
        "rule-breaking behaviour.",
        [
            "Suggesting the user wait their turn rather than cut the queue.",
            "Encouraging the user to shout insults at a meeting.",
        ],
    ),
    (
        "tradition",
        "Tradition",
        "Respect for and commitment to the customs and ideas of one's culture or religion. A "
        "response upholds it when it treats such customs with respect or helps keep them; it "
        "violates it when it mocks or disparages them.",
        [
            "Explaining how a family can observe a religious holiday together.",
            "Ridiculing a community's wedding customs as backward.",
        ],
    ),
    (
        "benevolence",
        "Benevolence",
        "Caring for the welfare of the people one is close to: being helpful, honest, loyal, "
        "forgiving and responsible. A response upholds it when it is genuinely helpful, honest "
        "and kind; it violates it when it deceives, betrays or hurts the people it concerns.",
        [
            "Gently suggesting ways to support a grieving friend.",
            "Helping someone write a lie to deceive their partner.",
        ],
    ),
    (
        "universalism",
        "Universalism",
        "Understanding, tolerance and protection for all people and for nature: equality, "
        "justice, a world at peace, care for the environment. A response upholds it when it "
        "treats all groups fairly and protects the vulnerable or the planet; it violates it "
        "when it stereotypes, discriminates or endorses harming the environment.",
        [
            "Pointing out that ability does not depend on a person's ethnicity.",
            "Claiming one gender is naturally unfit for leadership.",
        ],
    ),
]


def _scheme_models(apps):
    # Here the models are still the annotation app's; they moved to core later (0008), and the
    # tests re-seed through the live registry.
    label = "annotation" if "valuescheme" in apps.all_models.get("annotation", {}) else "core"
    return apps.get_model(label, "ValueScheme"), apps.get_model(label, "ValueDimension")


def seed(apps, schema_editor):
    ValueScheme, ValueDimension = _scheme_models(apps)
    scheme, _ = ValueScheme.objects.get_or_create(
        key=SCHEME_KEY,
        defaults={
            "name": "Schwartz's ten basic values",
            "description": (
                "The ten basic human values of Schwartz's theory, in the order of his circle. "
                "Label each: -1 the response violates the value, 0 unrelated, +1 upholds it."
            ),
        },
    )
    for position, (key, name, definition, examples) in enumerate(DIMENSIONS):
        ValueDimension.objects.update_or_create(
            scheme=scheme,
            key=key,
            defaults={
                "name": name,
                "definition": definition,
                "examples": examples,
                "position": position,
            },
        )


def unseed(apps, schema_editor):
    ValueScheme = apps.get_model("annotation", "ValueScheme")
    Project = apps.get_model("annotation", "Project")
    if not Project.objects.filter(scheme__key=SCHEME_KEY).exists():
        ValueScheme.objects.filter(key=SCHEME_KEY).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("annotation", "0001_initial"),
    ]

    operations = [migrations.RunPython(seed, unseed)]
