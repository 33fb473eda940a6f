"""The Neo4j runner: a Maven pom that fetches Neo4j Community and starts it with Java 17 (bios_kg.graph.runtime).

Shipped as package data so that `bios neo4j start` works from a wheel install."""
