//! Creating the table, for `wagate provision` and the tests (the SAM template creates the same
//! table in the cloud; keep the two in step).

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TableStatus, TimeToLiveSpecification,
};
use wagate_core::ports::{PortError, PortResult};

use super::port;

/// The one index: listings of API keys, sessions and dead letters.
pub const INDEX: &str = "gsi1";

fn attr(name: &str) -> AttributeDefinition {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .expect("name and type are set")
}

fn key(name: &str, kind: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .expect("name and type are set")
}

/// Creates the table unless it exists, waits until it is active, and turns TTL on.
pub async fn ensure_table(client: &Client, table: &str) -> PortResult<()> {
    let exists = match client.describe_table().table_name(table).send().await {
        Ok(_) => true,
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            false
        }
        Err(e) => return Err(port(e)),
    };
    if !exists {
        let index = GlobalSecondaryIndex::builder()
            .index_name(INDEX)
            .key_schema(key("gsi1pk", KeyType::Hash))
            .key_schema(key("gsi1sk", KeyType::Range))
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::All)
                    .build(),
            )
            .build()
            .expect("index fields are set");
        let created = client
            .create_table()
            .table_name(table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attr("pk"))
            .attribute_definitions(attr("gsi1pk"))
            .attribute_definitions(attr("gsi1sk"))
            .key_schema(key("pk", KeyType::Hash))
            .global_secondary_indexes(index)
            .send()
            .await;
        if let Err(e) = created
            && !e
                .as_service_error()
                .is_some_and(|s| s.is_resource_in_use_exception())
        {
            return Err(port(e));
        }
    }
    wait_active(client, table).await?;
    let ttl_on = client
        .describe_time_to_live()
        .table_name(table)
        .send()
        .await
        .map_err(port)?
        .time_to_live_description
        .and_then(|d| d.attribute_name)
        .is_some_and(|a| a == "ttl");
    if !ttl_on {
        client
            .update_time_to_live()
            .table_name(table)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name("ttl")
                    .enabled(true)
                    .build()
                    .expect("name and flag are set"),
            )
            .send()
            .await
            .map_err(port)?;
    }
    Ok(())
}

async fn wait_active(client: &Client, table: &str) -> PortResult<()> {
    for _ in 0..120 {
        let status = client
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(port)?
            .table
            .and_then(|t| t.table_status);
        if status == Some(TableStatus::Active) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Err(PortError::Backend(anyhow::anyhow!(
        "table {table} did not become active within 60 s"
    )))
}
