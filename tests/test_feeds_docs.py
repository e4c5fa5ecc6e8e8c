"""docs/api.md keeps up with the feeds: every layer, filter and endpoint is described."""
from layers.query import FILTER_PARAMETERS
from layers.registry import LAYERS
from mapping import create_app
from mapping.core.config import PROJECT_ROOT

API_DOC = PROJECT_ROOT / "docs" / "api.md"


def test_every_layer_and_filter_is_documented():
    doc = API_DOC.read_text()
    missing = [f"`{name}`" for name in LAYERS if f"`{name}`" not in doc]
    missing += [f"`{name}=" for name in FILTER_PARAMETERS if f"`{name}=" not in doc]
    missing += [f"`{name}" for name in ("bbox=", "bbox-crs=", "datetime=", "crs=", "properties=",
                                        "limit", "offset") if f"`{name}" not in doc]
    assert not missing, f"missing from docs/api.md: {missing}"


def test_every_feed_endpoint_is_documented(database_url):
    doc = API_DOC.read_text()
    app = create_app({"database_url": database_url})
    try:
        rules = [rule.rule for rule in app.url_map.iter_rules()
                 if rule.endpoint.split(".")[0] in ("ogc", "feeds", "tiles")]
    finally:
        app.extensions["assetmap.engine"].dispose()
    documented = [rule.replace("<collection_id>", "{layer}").replace("<layer_id>", "{layer}")
                  .replace("<feature_id>", "{id}").replace("<code>", "{code}")
                  .replace("<z>", "{z}").replace("<x>", "{x}").replace("<y>", "{y}").rstrip("/")
                  for rule in rules]
    missing = [rule for rule in documented if f"`{rule}" not in doc]
    assert not missing, f"endpoints missing from docs/api.md: {missing}"
