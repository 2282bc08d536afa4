"""Talks to a local moto IAM for the `respond --execute` test, with boto3 (moto's own dependency).

  iam.py seed ENDPOINT OUT   create user svc-payments and an access key; write what
                             the AWS CLI would export (OUT/aws/123456789012/list-access-keys.json)
                             and a dotenv holding the key (OUT/app/.env); print the key id
  iam.py status ENDPOINT USER KEY   print the key's status as IAM reports it
"""
import json
import os
import sys

import boto3


def client(endpoint):
    return boto3.client(
        "iam",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def seed(endpoint, out):
    iam = client(endpoint)
    iam.create_user(UserName="svc-payments")
    key = iam.create_access_key(UserName="svc-payments")["AccessKey"]
    listing = iam.list_access_keys(UserName="svc-payments")
    listing.pop("ResponseMetadata", None)  # boto3's, not in `aws iam list-access-keys` output
    os.makedirs(f"{out}/aws/123456789012", exist_ok=True)
    with open(f"{out}/aws/123456789012/list-access-keys.json", "w") as f:
        json.dump(listing, f, indent=4, default=lambda d: d.isoformat())
    os.makedirs(f"{out}/app", exist_ok=True)
    with open(f"{out}/app/.env", "w") as f:
        f.write(f"AWS_ACCESS_KEY_ID={key['AccessKeyId']}\nAWS_SECRET_ACCESS_KEY={key['SecretAccessKey']}\n")
    print(key["AccessKeyId"])


def status(endpoint, user, key_id):
    for k in client(endpoint).list_access_keys(UserName=user)["AccessKeyMetadata"]:
        if k["AccessKeyId"] == key_id:
            print(k["Status"])
            return
    print("absent")


if __name__ == "__main__":
    if sys.argv[1] == "seed":
        seed(sys.argv[2], sys.argv[3])
    else:
        status(sys.argv[2], sys.argv[3], sys.argv[4])
