"""Talks to a local moto IAM for the `respond --execute` test, with boto3 (moto's own dependency).

  iam.py seed ENDPOINT OUT   create user svc-payments and an access key; write what
                             the AWS CLI would export (OUT/aws/123456789012/list-access-keys.json)
                             and a dotenv holding the key (OUT/app/.env); print the key id
  iam.py status ENDPOINT USER KEY   print the key's status as IAM reports it
  iam.py leak ENDPOINT OUT   for a moto started with INITIAL_NO_AUTH_ACTION_COUNT=3:
                             create an admin (3 unauthenticated calls), then as the
                             admin a user svc-leaky with an owner tag and a key; write
                             the account's `get-account-authorization-details` export
                             (OUT/aws/123456789012/authorization-details.json), a repo
                             file leaking the key (OUT/repo/deploy.env) and the admin's
                             key (OUT/admin.json); print the leaked key id
  iam.py delete ENDPOINT OUT USER KEY   delete the key, as the admin of OUT/admin.json
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


def leak(endpoint, out):
    open_iam = client(endpoint)
    open_iam.create_user(UserName="admin")
    open_iam.put_user_policy(UserName="admin", PolicyName="all", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    admin = open_iam.create_access_key(UserName="admin")["AccessKey"]
    # From here on moto checks every request's signature, as AWS does.
    iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1",
                       aws_access_key_id=admin["AccessKeyId"], aws_secret_access_key=admin["SecretAccessKey"])
    iam.create_user(UserName="svc-leaky", Tags=[{"Key": "owner", "Value": "dana@example.com"}])
    key = iam.create_access_key(UserName="svc-leaky")["AccessKey"]
    details = iam.get_account_authorization_details()
    details.pop("ResponseMetadata", None)
    os.makedirs(f"{out}/aws/123456789012", exist_ok=True)
    with open(f"{out}/aws/123456789012/authorization-details.json", "w") as f:
        json.dump(details, f, indent=4, default=lambda d: d.isoformat())
    os.makedirs(f"{out}/repo", exist_ok=True)
    with open(f"{out}/repo/deploy.env", "w") as f:
        f.write(f"AWS_ACCESS_KEY_ID={key['AccessKeyId']}\nAWS_SECRET_ACCESS_KEY={key['SecretAccessKey']}\n")
    with open(f"{out}/admin.json", "w") as f:
        json.dump({"id": admin["AccessKeyId"], "secret": admin["SecretAccessKey"]}, f)
    print(key["AccessKeyId"])


def delete(endpoint, out, user, key_id):
    with open(f"{out}/admin.json") as f:
        admin = json.load(f)
    iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1",
                       aws_access_key_id=admin["id"], aws_secret_access_key=admin["secret"])
    iam.delete_access_key(UserName=user, AccessKeyId=key_id)


if __name__ == "__main__":
    if sys.argv[1] == "seed":
        seed(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "leak":
        leak(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "delete":
        delete(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5])
    else:
        status(sys.argv[2], sys.argv[3], sys.argv[4])
