"""The built-in demo account: an in-process moto AWS seeded with a realistic SageMaker fleet."""
