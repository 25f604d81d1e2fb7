"""The catalog: the shipped one is valid, and a bad one says where and why."""

import textwrap

import pytest

from campus import catalog
from campus.errors import ConfigError
from campus.settings import Settings

SHIPPED = Settings().catalog_path

GOOD_DATASET = """\
datasets:
  card_usage:
    title: Card usage
    description: Transactions.
    steward: sejin
    tier: sensitive
    source: card_usage
    entity: card_id
    columns:
      card_id:  {type: VARCHAR, role: identifier, description: Card.}
      district: {type: VARCHAR, role: dimension, description: District.}
      amount:   {type: BIGINT, role: measure, description: Amount.}
"""


def test_shipped_catalog_is_valid():
    cat = catalog.load(SHIPPED)
    assert {d.name for d in cat} == {"card_usage", "sales_by_location", "air_quality"}
    assert cat["card_usage"].entity == "card_id"
    assert cat["air_quality"].entity is None


def test_every_column_of_the_shipped_catalog_has_a_known_role():
    for dataset in catalog.load(SHIPPED):
        for name, column in dataset.columns.items():
            assert column.role in {"identifier", "quasi_identifier", "dimension", "measure", "time"}, name


def test_published_json_schema_matches_the_model():
    published = (SHIPPED.parent / "catalog.schema.json").read_text()
    assert published == catalog.json_schema(), "regenerate datasets/catalog.schema.json"


def test_every_district_column_of_the_shipped_catalog_has_the_demo_generators_regions():
    from campus.synth.seoul import REGION_OF_DISTRICT

    districts = [(d.name, name, column) for d in catalog.load(SHIPPED) for name, column in d.columns.items()
                 if name == "district" or name.endswith("_district")]
    assert len(districts) == 4
    for dataset, name, column in districts:
        assert column.region_of() == REGION_OF_DISTRICT, f"{dataset}.{name}"


def test_unknown_dataset_name_lists_the_known_ones():
    with pytest.raises(KeyError, match="air_quality, card_usage, sales_by_location"):
        catalog.load(SHIPPED)["nope"]


def write(tmp_path, text):
    path = tmp_path / "catalog.yaml"
    path.write_text(textwrap.dedent(text))
    return path


# Each bad catalog: (what is wrong, how to break the good one, the line named, what the message says)
BAD = [
    ("missing role", ("district: {type: VARCHAR, role: dimension,", "district: {type: VARCHAR,"), 11,
     "datasets.card_usage.columns.district.role: Field required"),
    ("unknown role", ("role: dimension", "role: secret"), 11,
     "datasets.card_usage.columns.district.role: Input should be 'identifier'"),
    ("path escaping the data location", ("source: card_usage", "source: ../../etc"), 7,
     "datasets.card_usage.source: '../../etc' is not a plain folder"),
    ("glob in path", ("source: card_usage", "source: card_*/x"), 7, "is not a plain folder"),
    ("other URL scheme", ("source: card_usage", "source: http://example.org/x"), 7, "is not a plain folder"),
    ("bad s3 bucket", ("source: card_usage", "source: s3://UPPER_case"), 7, "is not an s3://bucket/prefix location"),
    ("entity not a column", ("entity: card_id", "entity: person"), 8, "entity 'person' is not one of the dataset's columns"),
    ("entity not an identifier", ("card_id:  {type: VARCHAR, role: identifier,", "card_id:  {type: VARCHAR, role: dimension,"),
     8, "entity column 'card_id' must have role identifier"),
    ("entity of an engine-dependent type", ("card_id:  {type: VARCHAR, role: identifier,", "card_id:  {type: DOUBLE, role: identifier,"),
     8, "entity column 'card_id' must be one of VARCHAR, TINYINT"),
    ("sensitive without entity", ("entity: card_id", "entity: null"), 8, "a sensitive dataset needs an entity column"),
    ("unknown tier", ("tier: sensitive", "tier: secret"), 6, "datasets.card_usage.tier: Input should be 'open'"),
    ("unknown type", ("type: BIGINT", "type: MONEY"), 12, "datasets.card_usage.columns.amount.type"),
    ("unknown field", ("steward: sejin", "steward: sejin\n    stewrad: x"), 6, "stewrad: Extra inputs are not permitted"),
    ("time without grain", ("role: dimension", "role: time"), 11, "a time column needs a grain"),
    ("bad column name", ("amount:", "Amount:"), 9, "column names must be lower_snake_case: Amount"),
    ("range of whole numbers on text", ("description: District.}", "description: District., domain: {first: 1, "
     "last: 25}}"), 11, "a range of whole numbers that of a TINYINT, SMALLINT, INTEGER, BIGINT column"),
    ("dropped column also kept", ("entity: card_id", "entity: card_id\n    dropped: [메모, district]"), 9,
     "dropped: 'district' is also one of the columns"),
    ("dropped column named twice", ("entity: card_id", "entity: card_id\n    dropped: [메모, 메모]"), 9,
     "dropped: a file's column is named twice"),
    ("an identifier redacted", ("role: identifier,", "role: identifier, redact: true,"), 10,
     "only text (VARCHAR) that is no identifier is redacted"),
    ("a number redacted", ("role: measure,", "role: measure, redact: true,"), 12,
     "only text (VARCHAR) that is no identifier is redacted"),
    ("a domain redacted", ("description: District.}", "description: District., redact: true, domain: [A, B]}"),
     11, "a column with a public domain holds only its public values"),
    ("regions of a measure", ("role: measure,", "role: measure, regions: {North: [A]},"), 12,
     "only text (VARCHAR) dimension and quasi_identifier columns have regions"),
    ("a district in two regions", ("description: District.}", "description: District., regions: {North: [A, B], "
     "South: [B]}}"), 11, "regions: B is in both North and South; a value lies in one region"),
    ("a region without districts", ("description: District.}", "description: District., regions: {North: []}}"), 11,
     "datasets.card_usage.columns.district.regions.North: List should have at least 1 item"),
    ("a public district in no region", ("description: District.}", "description: District., domain: [A, B, C], "
     "regions: {North: [A], South: [B]}}"), 11, "regions: C of the column's domain lie in no region"),
    ("a region's district misspelt", ("description: District.}", "description: District., domain: [Jung-gu], "
     "regions: {North: [Jung-Gu]}}"), 11, "regions: Jung-gu of the column's domain lie in no region"),
    ("a region's district not public", ("description: District.}", "description: District., domain: [A], "
     "regions: {North: [A, Z]}}"), 11, "regions: Z are not of the column's domain; spell them as the domain does"),
]


@pytest.mark.parametrize("what,edit,line,message", BAD, ids=[b[0] for b in BAD])
def test_bad_catalog_names_file_line_and_field(tmp_path, what, edit, line, message):
    path = write(tmp_path, GOOD_DATASET.replace(*edit))
    with pytest.raises(ConfigError) as e:
        catalog.load(path)
    assert f"{path}:{line}: " in e.value.reason
    assert message in e.value.reason


def test_duplicate_dataset_is_refused_with_its_line(tmp_path):
    text = GOOD_DATASET + GOOD_DATASET.removeprefix("datasets:\n")
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=rf"{path}:13: not valid YAML: .card_usage. appears twice"):
        catalog.load(path)


def test_the_good_catalog_loads(tmp_path):
    dataset = catalog.load(write(tmp_path, GOOD_DATASET))["card_usage"]
    assert dataset.roles("measure") == ["amount"]
    assert dataset.disclosure.min_entities == 10


def test_missing_catalog_file_says_what_to_do(tmp_path):
    with pytest.raises(ConfigError, match="no such file; create it or point CAMPUS_ROOT"):
        catalog.load(tmp_path / "catalog.yaml")


def test_dataset_without_files_says_how_to_build_them(tmp_path):
    dataset = catalog.load(write(tmp_path, GOOD_DATASET))["card_usage"]
    with pytest.raises(Exception, match="run `campus datasets build`"):
        dataset.files(tmp_path / "nowhere")

