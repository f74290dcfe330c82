import pulumi
import pulumi_random as random

from parameter import Parameter

config = pulumi.Config()
stack = pulumi.get_stack()
project = pulumi.get_project()

pet = random.RandomPet("pet", length=2, prefix=stack)
greeting = Parameter("greeting", name=f"/{project}/{stack}/greeting", value=config.require("greeting"))

pulumi.export("pet", pet.id)
pulumi.export("parameter", greeting.name)
