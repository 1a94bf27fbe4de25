//! `feedback_digests`: one row per week whose feedback digest the bot sent (the week's Monday,
//! `YYYY-MM-DD`, as the key), so the weekly job sends each digest once whichever replica runs
//! it and however often it asks.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum FeedbackDigests {
    Table,
    WeekStart,
    SentAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(FeedbackDigests::Table)
                    .col(ColumnDef::new(FeedbackDigests::WeekStart).string_len(10).not_null().primary_key())
                    .col(ColumnDef::new(FeedbackDigests::SentAt).timestamp_with_time_zone().not_null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(FeedbackDigests::Table).to_owned()).await
    }
}
