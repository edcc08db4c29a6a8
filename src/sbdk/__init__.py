"""sbdk: product-analytics dbt package, synthetic data generator and test harness."""

__version__ = "0.1.0"
