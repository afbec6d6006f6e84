"""`ml-platform:network`: what each environment gets by default, and every error with its exact line."""

from __future__ import annotations

import json

import pytest

from components.network import NetworkSettings
from components.network_rules import DEFAULT_INTERFACE_ENDPOINTS
from infra.config import ConfigError, load
from infra.config.network import availability_zones

TAGS = '{"CostCenter": "ml", "Owner": "team@example.com", "Project": "ml-platform"}'


def config(environment: str = "dev", network: dict | None = None, region: str = "us-west-2"):
    values = {"aws:region": region, "ml-platform:environment": environment, "ml-platform:tags": TAGS}
    if network is not None:
        values["ml-platform:network"] = json.dumps(network)
    return load(values, stack=environment)


def problems(network: dict, environment: str = "dev") -> list[str]:
    with pytest.raises(ConfigError) as err:
        config(environment, network)
    return err.value.problems


def test_dev_defaults_to_two_azs_one_nat_and_no_interface_endpoints():
    net = config("dev").network
    assert (net.az_count, net.nat_strategy, net.interface_endpoints) == (2, "single", ())
    assert (net.cidr, net.flow_log_retention_days, net.pod_cidr) == ("10.10.0.0/16", 30, None)


def test_staging_defaults_to_prod_topology_with_a_single_nat():
    net = config("staging").network
    assert (net.az_count, net.nat_strategy, net.interface_endpoints) == (3, "single", DEFAULT_INTERFACE_ENDPOINTS)
    assert (net.cidr, net.flow_log_retention_days) == ("10.20.0.0/16", 90)


def test_prod_defaults_to_three_azs_nat_per_az_and_the_private_endpoints():
    net = config("prod").network
    assert (net.az_count, net.nat_strategy, net.interface_endpoints) == (3, "per_az", DEFAULT_INTERFACE_ENDPOINTS)
    assert (net.cidr, net.flow_log_retention_days) == ("10.30.0.0/16", 365)
    assert DEFAULT_INTERFACE_ENDPOINTS == (
        "ecr.api",
        "ecr.dkr",
        "sts",
        "logs",
        "kms",
        "sagemaker.api",
        "sagemaker.runtime",
    )


def test_environments_get_non_overlapping_cidrs_so_they_can_be_connected_later():
    import ipaddress

    cidrs = [ipaddress.ip_network(config(env).network.cidr) for env in ("dev", "staging", "prod")]
    assert not any(a.overlaps(b) for i, a in enumerate(cidrs) for b in cidrs[i + 1 :])


def test_stack_file_values_override_the_profile():
    net = config("dev", {"azCount": 3, "natStrategy": "per_az", "interfaceEndpoints": ["sts"]}).network
    assert (net.az_count, net.nat_strategy, net.interface_endpoints) == (3, "per_az", ("sts",))


def test_unset_subnet_sizes_come_from_the_vpc_cidr():
    assert config("dev", {"cidr": "10.0.0.0/16"}).network.resolved_prefixes == {
        "public": 24,
        "private": 18,
        "intra": 24,
    }
    assert config("dev", {"cidr": "10.0.0.0/20"}).network.resolved_prefixes == {
        "public": 27,
        "private": 22,
        "intra": 27,
    }
    sizes = config("dev", {"podCidr": "100.64.0.0/16", "subnetPrefixes": {"private": 19}}).network.resolved_prefixes
    assert sizes == {"public": 24, "private": 19, "intra": 24, "pods": 18}


def test_the_stack_files_section_is_the_components_settings_model():
    net = config("prod", {"podCidr": "100.64.0.0/16"}).network
    assert isinstance(net, NetworkSettings)
    assert (net.cidr, net.pod_cidr, net.nat_strategy, net.flow_log_retention_days) == (
        "10.30.0.0/16",
        "100.64.0.0/16",
        "per_az",
        365,
    )
    assert net.interface_endpoints == DEFAULT_INTERFACE_ENDPOINTS
    assert net.resolved_prefixes == {"public": 24, "private": 18, "intra": 24, "pods": 18}


@pytest.mark.parametrize(
    ("network", "line"),
    [
        (
            {"cidr": "8.8.0.0/16"},
            (
                "ml-platform:network.cidr = '8.8.0.0/16': must be a private RFC1918 range (inside 10.0.0.0/8, "
                "172.16.0.0/12 or 192.168.0.0/16), e.g. 10.0.0.0/16"
            ),
        ),
        (
            {"cidr": "10.0.0.0/21", "azCount": 3},
            (
                "ml-platform:network.cidr = '10.0.0.0/21': too small: use /20 or larger (e.g. 10.0.0.0/16). The layout "
                "keeps room for 3 AZs so that adding one never renumbers a subnet, and each AZ needs a private subnet of "
                "at least /22 (nodes and, with the VPC CNI, every pod take an address from it) plus public and intra "
                "subnets: 3 × /22 alone is 3,072 addresses, more than a /21 holds"
            ),
        ),
        (
            {"cidr": "10.0.0.0/12"},
            (
                "ml-platform:network.cidr = '10.0.0.0/12': too large: AWS allows VPC CIDR blocks from /16 to /28; "
                "use /16 to /20"
            ),
        ),
        (
            {"cidr": "10.0.0.1/16"},
            "ml-platform:network.cidr = '10.0.0.1/16': has host bits set; the network is 10.0.0.0/16",
        ),
        ({"cidr": "ten"}, "ml-platform:network.cidr = 'ten': not an IPv4 CIDR block; write it like 10.0.0.0/16"),
        (
            {"azCount": 4},
            (
                "ml-platform:network.azCount = 4: must be 2 or 3: EKS needs subnets in at least 2 AZs, and the subnet "
                "layout has room for 3"
            ),
        ),
        (
            {"azCount": 1},
            (
                "ml-platform:network.azCount = 1: must be 2 or 3: EKS needs subnets in at least 2 AZs, and the subnet "
                "layout has room for 3"
            ),
        ),
        (
            {"natStrategy": "perAz"},
            (
                "ml-platform:network.natStrategy = 'perAz': must be one of none | single | per_az (none: no NAT "
                "gateway: private subnets reach AWS only through VPC endpoints, nothing on the internet; single: one NAT "
                "gateway in the first AZ: cheapest egress, lost while that AZ is down; per_az: one NAT gateway per AZ: "
                "egress survives an AZ loss and never crosses AZs)"
            ),
        ),
        (
            {"interfaceEndpoints": ["sts", "sagemaker"]},
            (
                "ml-platform:network.interfaceEndpoints[1] = 'sagemaker': unknown interface endpoint; did you mean "
                "'sagemaker.api' or 'sagemaker.runtime' or 'sagemaker.featurestore-runtime'? known: ecr.api, ecr.dkr, "
                "sts, logs, kms, sagemaker.api, sagemaker.runtime, sagemaker.featurestore-runtime, ec2, ec2messages, "
                "ssm, ssmmessages, eks, eks-auth, elasticloadbalancing, autoscaling, sqs, monitoring, secretsmanager, xray"
            ),
        ),
        (
            {"interfaceEndpoints": ["s3"]},
            (
                "ml-platform:network.interfaceEndpoints[0] = 's3': S3 always gets a gateway endpoint (free, and it keeps "
                "dataset traffic off NAT); remove it here"
            ),
        ),
        (
            {"interfaceEndpoints": ["sts", "kms", "sts"]},
            "ml-platform:network.interfaceEndpoints[2] = 'sts': listed twice; each endpoint appears once",
        ),
        (
            {"subnetPrefixes": {"private": 23}},
            (
                "ml-platform:network.subnetPrefixes.private = 23: must be 22 or less (a /22 or larger subnet): nodes "
                "and, with the VPC CNI, every pod take an address from the private subnet; about 1,000 addresses per AZ "
                "is the floor for an EKS node pool"
            ),
        ),
        (
            {"subnetPrefixes": {"public": 28}},
            (
                "ml-platform:network.subnetPrefixes.public = 28: must be 27 or less (a /27 or larger subnet): an "
                "Application Load Balancer needs a /27 or larger subnet with at least 8 free addresses"
            ),
        ),
        (
            {"subnetPrefixes": {"intra": 12}},
            "ml-platform:network.subnetPrefixes.intra = 12: must be 16 to 28: a subnet cannot be larger than a VPC block",
        ),
        (
            {
                "subnetPrefixes": {"intra": 28},
                "interfaceEndpoints": ["ecr.api", "ecr.dkr", "sts", "logs", "kms", "xray"],
            },
            (
                "ml-platform:network.subnetPrefixes.intra = 28: a /28 intra subnet has 11 usable addresses, but 6 "
                "interface endpoints (one address each per AZ) plus the 6 EKS needs free for its control-plane ENIs "
                "take 12; use /27 or larger (a prefix of 27 or less)"
            ),
        ),
        (
            {"cidr": "10.0.0.0/20", "subnetPrefixes": {"private": 21}},
            (
                'ml-platform:network.subnetPrefixes = {"public": 27, "private": 21, "intra": 27}: subnets do not fit in '
                "10.0.0.0/20: 3 AZ slots × (public /27 + private /21 + intra /27) = 6,336 addresses, the block has "
                "4,096. Room for 3 AZs is always kept so adding an AZ never renumbers a subnet; use smaller subnets "
                "(longer prefixes) or a larger CIDR"
            ),
        ),
        (
            {"subnetPrefixes": {"pods": 20}},
            "ml-platform:network.subnetPrefixes.pods = 20: pod subnets need `podCidr`; set it or remove this size",
        ),
        (
            {"podCidr": "172.16.0.0/16"},
            (
                "ml-platform:network.podCidr = '172.16.0.0/16': must be inside 100.64.0.0/10 or 10.0.0.0/8 (AWS accepts "
                "a secondary block from the shared address space or from the primary CIDR's own RFC1918 range), "
                "e.g. 100.64.0.0/16"
            ),
        ),
        (
            {"podCidr": "10.10.128.0/17"},
            (
                "ml-platform:network.podCidr = '10.10.128.0/17': overlaps the VPC CIDR 10.10.0.0/16; pick a block "
                "outside it, e.g. 100.64.0.0/16"
            ),
        ),
        (
            {"podCidr": "100.64.0.0/24"},
            (
                "ml-platform:network.podCidr = '100.64.0.0/24': must be /16 to /20: AWS allows /16 at most, and 3 AZ "
                "slots of /22 pod subnets need a /20"
            ),
        ),
        (
            {"flowLogRetentionDays": 10},
            (
                "ml-platform:network.flowLogRetentionDays = 10: CloudWatch Logs accepts only these retention periods "
                "(days): 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, "
                "3288, 3653"
            ),
        ),
        (
            {"natStrategi": "single"},
            (
                "ml-platform:network.natStrategi: unknown key; did you mean 'natStrategy'? (allowed: cidr, azCount, "
                "natStrategy, subnetPrefixes, podCidr, interfaceEndpoints, flowLogRetentionDays)"
            ),
        ),
    ],
)
def test_fails_with_a_line_naming_file_key_value_and_what_is_allowed(network, line):
    assert problems(network) == [f"Pulumi.dev.yaml: {line}"]


def test_fails_when_more_azs_are_asked_than_the_region_has():
    net = config("prod", {"azCount": 3}).network
    with pytest.raises(ConfigError) as err:
        availability_zones(
            net, ["us-west-1a", "us-west-1c"], ["usw1-az1", "usw1-az3"], region="us-west-1", stack="prod"
        )
    assert err.value.problems == [
        (
            "Pulumi.prod.yaml: ml-platform:network.azCount = 3: us-west-1 has only 2 usable availability zones "
            "(us-west-1a, us-west-1c); use 2"
        )
    ]


def test_availability_zones_are_the_first_usable_ones_by_name():
    net = config("dev").network
    assert availability_zones(
        net,
        ["us-west-2c", "us-west-2a", "us-west-2b"],
        ["usw2-az3", "usw2-az1", "usw2-az2"],
        region="us-west-2",
        stack="dev",
    ) == ["us-west-2a", "us-west-2b"]
