// BIOS-KG schema, applied idempotently by `bios graph init` (statements separated by `;`).
// Vector indexes (term_embedding, concept_embedding) are created by the embedding job once the
// dimension is known.

CREATE CONSTRAINT concept_id IF NOT EXISTS FOR (c:Concept) REQUIRE c.id IS UNIQUE;
CREATE CONSTRAINT term_id IF NOT EXISTS FOR (t:Term) REQUIRE t.id IS UNIQUE;
CREATE CONSTRAINT term_lang_norm IF NOT EXISTS FOR (t:Term) REQUIRE (t.lang, t.norm) IS UNIQUE;
CREATE CONSTRAINT semantic_type_id IF NOT EXISTS FOR (s:SemanticType) REQUIRE s.id IS UNIQUE;
CREATE CONSTRAINT relation_type_id IF NOT EXISTS FOR (r:RelationType) REQUIRE r.id IS UNIQUE;
CREATE CONSTRAINT source_id IF NOT EXISTS FOR (s:Source) REQUIRE s.id IS UNIQUE;
CREATE CONSTRAINT embedding_model_id IF NOT EXISTS FOR (m:EmbeddingModel) REQUIRE m.id IS UNIQUE;
CREATE CONSTRAINT cluster_run_id IF NOT EXISTS FOR (r:ClusterRun) REQUIRE r.id IS UNIQUE;
CREATE CONSTRAINT note_id IF NOT EXISTS FOR (n:Note) REQUIRE n.id IS UNIQUE;
CREATE CONSTRAINT prediction_model_id IF NOT EXISTS FOR (m:PredictionModel) REQUIRE m.id IS UNIQUE;
CREATE CONSTRAINT suggested_id IF NOT EXISTS FOR ()-[s:SUGGESTED]-() REQUIRE s.id IS UNIQUE;
CREATE CONSTRAINT pending_relation_id IF NOT EXISTS FOR (p:PendingRelation) REQUIRE p.id IS UNIQUE;
CREATE CONSTRAINT pending_alt_id IF NOT EXISTS FOR (p:PendingAltId) REQUIRE p.id IS UNIQUE;

CREATE INDEX term_norm IF NOT EXISTS FOR (t:Term) ON (t.norm);
CREATE INDEX concept_name IF NOT EXISTS FOR (c:Concept) ON (c.name);

// Lexical search over term text in every language: the cjk analyzer makes bigrams of Han text and
// lower-cases Latin tokens.
CREATE FULLTEXT INDEX term_text IF NOT EXISTS FOR (t:Term) ON EACH [t.text]
OPTIONS { indexConfig: { `fulltext.analyzer`: 'cjk', `fulltext.eventually_consistent`: false } };

// Clustering (embed/cluster/): concepts of a release, and the oracle's questions for curators.
CREATE CONSTRAINT review_item_id IF NOT EXISTS FOR (q:ReviewItem) REQUIRE q.id IS UNIQUE;
CREATE INDEX concept_release IF NOT EXISTS FOR (c:Concept) ON (c.release);
CREATE INDEX concept_cluster_run IF NOT EXISTS FOR (c:Concept) ON (c.cluster_run);
