//! SNS: Publish, optionally in AWS Chatbot's custom-notification format.

pub mod chatbot;
