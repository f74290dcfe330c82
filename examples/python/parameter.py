"""An SSM parameter managed through a dynamic provider over boto3, so the program talks to
whatever AWS endpoint the environment names (AWS_ENDPOINT_URL: the emulator in tests)."""
import os

import boto3
import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ReadResult, ResourceProvider, UpdateResult


def _ssm():
    # The AWS SDKs for JavaScript and Go read AWS_REGION; boto3 wants AWS_DEFAULT_REGION unless told.
    return boto3.client("ssm", region_name=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"))


class _ParameterProvider(ResourceProvider):
    def create(self, props):
        _ssm().put_parameter(Name=props["name"], Value=props["value"], Type="String", Overwrite=True)
        return CreateResult(id_=props["name"], outs={"name": props["name"], "value": props["value"]})

    def diff(self, _id, olds, news):
        replaces = ["name"] if olds.get("name") != news["name"] else []
        changed = olds.get("value") != news["value"] or bool(replaces)
        return DiffResult(changes=changed, replaces=replaces, delete_before_replace=True)

    def update(self, _id, _olds, news):
        _ssm().put_parameter(Name=news["name"], Value=news["value"], Type="String", Overwrite=True)
        return UpdateResult(outs={"name": news["name"], "value": news["value"]})

    def read(self, id_, props):
        try:
            value = _ssm().get_parameter(Name=id_)["Parameter"]["Value"]
        except _ssm().exceptions.ParameterNotFound:
            return ReadResult(id_=None, outs={})
        return ReadResult(id_=id_, outs={**props, "name": id_, "value": value})

    def delete(self, id_, _props):
        try:
            _ssm().delete_parameter(Name=id_)
        except _ssm().exceptions.ParameterNotFound:
            pass


class Parameter(pulumi.dynamic.Resource):
    name: pulumi.Output[str]
    value: pulumi.Output[str]

    def __init__(self, resource_name, name, value, opts=None):
        super().__init__(_ParameterProvider(), resource_name, {"name": name, "value": value}, opts)
