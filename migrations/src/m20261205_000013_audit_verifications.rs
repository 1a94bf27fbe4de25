//! `audit_verifications`: one row per `gad audit verify` (the audit log's hash chain walked and
//! recomputed), intact or broken, so every replica reports
//! `gad_audit_last_verify_success_timestamp_seconds` and `gad_audit_chain_intact`, and the
//! alerts fire when the daily verification stops or finds the chain broken.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AuditVerifications {
    Table,
    Id,
    FinishedAtUnix,
    Ok,
    RowsChecked,
    FirstBrokenId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AuditVerifications::Table)
                    .col(ColumnDef::new(AuditVerifications::Id).big_integer().not_null().auto_increment().primary_key())
                    // Seconds since the Unix epoch: the same integer on both backends.
                    .col(ColumnDef::new(AuditVerifications::FinishedAtUnix).big_integer().not_null())
                    .col(ColumnDef::new(AuditVerifications::Ok).boolean().not_null())
                    .col(
                        ColumnDef::new(AuditVerifications::RowsChecked)
                            .big_integer()
                            .not_null()
                            .check(Expr::col(AuditVerifications::RowsChecked).gte(0)),
                    )
                    // The audit row where the chain breaks (none when intact).
                    .col(ColumnDef::new(AuditVerifications::FirstBrokenId).big_integer().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("audit_verifications_finished")
                    .table(AuditVerifications::Table)
                    .col(AuditVerifications::FinishedAtUnix)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(AuditVerifications::Table).to_owned()).await
    }
}
