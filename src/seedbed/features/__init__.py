"""The feature store: shared feature definitions, point-in-time training sets and online
lookups. Definitions are written with the classes exported here:

    from seedbed.features import Entity, Source, FeatureView, Feature, Aggregate, Derived
"""

from seedbed.features.definitions import Aggregate, Derived, Entity, Feature, FeatureView, Source

__all__ = ["Aggregate", "Derived", "Entity", "Feature", "FeatureView", "Source"]
