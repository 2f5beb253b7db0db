"""TEST STAND-IN for OSM's ``osm_common`` (OSM's db/fs/msg library: not on PyPI, not in ../shared/osm-v19).

It holds ONLY the names the real N2VC helm 3 connector's import chain imports (``k8s_helm3_conn`` ->
``k8s_helm_base_conn`` -> ``kubectl`` -> ``libjuju`` -> ``n2vc_conn`` / ``vca`` -> ``store``):
``osm_common.dbbase.DbException``, ``DbBase``, ``Encryption`` and ``osm_common.dbmongo.DbMongo``. None of them runs
in a helm path: the connector is given the LCM db/fs test doubles (tests/support/osm_lcm_double.py) as its ``db`` and
``fs``. Anything else reaching for them fails loudly instead of pretending to work.
"""
