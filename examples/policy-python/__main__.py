"""Naming rules for random pets, enforced on every preview of the stacks that name this pack."""
from pulumi_policy import EnforcementLevel, PolicyPack, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy


def _long_enough(args: ResourceValidationArgs, report_violation: ReportViolation):
    if args.resource_type != "random:index/randomPet:RandomPet":
        return
    length = int(args.props.get("length", 2))
    if length < 3:
        report_violation(f"a pet name of {length} words is too easy to guess; use a length of 3 or more")


PolicyPack(
    name="pet-names",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=[
        ResourceValidationPolicy(
            name="pet-name-length",
            description="Random pet names have at least three words.",
            validate=_long_enough,
        ),
    ],
)
